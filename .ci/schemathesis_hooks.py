"""Make schemathesis's generated requests look like a real client's where
the document cannot say what a real client does. Loaded by `.ci/contract`
through SCHEMATHESIS_HOOKS; each change says why."""

import re
import uuid

import schemathesis

VALID_IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,255}")


@schemathesis.hook
def before_call(context, case, kwargs):
    # An Idempotency-Key names one request; the generator reuses short keys
    # ("0") for different bodies, which the server rightly refuses with 422
    # idempotency-key-reused. A real client makes a fresh key per request.
    # Malformed keys are left alone so that their rejection is still tested.
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and VALID_IDEMPOTENCY_KEY.fullmatch(str(headers[name])):
            headers[name] = uuid.uuid4().hex
    if case.path == "/v1/stock-sync" and is_positive(case):
        case.body = without_repeated_skus(case.body)


def is_positive(case):
    return case.meta is not None and case.meta.generation.mode.is_positive


def without_repeated_skus(body):
    """A stock sync names each product once (SKUs compared ignoring case):
    a batch naming one twice is refused as ambiguous, a rule across items
    that JSON Schema cannot state. Keep each SKU's first item."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return body
    seen = set()
    items = []
    for item in body["items"]:
        sku = item.get("sku") if isinstance(item, dict) else None
        key = sku.lower() if isinstance(sku, str) else None
        if key is not None and key in seen:
            continue
        seen.add(key)
        items.append(item)
    return {**body, "items": items}
