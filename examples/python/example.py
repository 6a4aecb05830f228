"""The inventory API through the client generated from openapi.yaml.

Creates a product, updates it, meets a stale write and retries it with the
version the 409 names, then sends one stock adjustment twice with the same
Idempotency-Key and checks it was applied once.

    INVENTORY_URL=http://127.0.0.1:8080 INVENTORY_TOKEN=inv_... python example.py
"""

import os
import random
import sys
import time
import uuid
from typing import Any, NoReturn

import httpx

from inventory_api_client import AuthenticatedClient
from inventory_api_client.api.products import create_product, read_product, update_product
from inventory_api_client.api.stock import adjust_stock
from inventory_api_client.models import (
    CreateProductRequest,
    CurrencyCode,
    Product,
    StaleVersionProblem,
    StockAdjustmentRequest,
    UpdateProductRequest,
)
from inventory_api_client.types import Response


def fail(message: str) -> NoReturn:
    sys.exit(f"python example: {message}")


def expect(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def product_of(response: Response[Any], status: int, what: str) -> Product:
    """The product in a success response, or a clear failure naming what came back."""
    if response.status_code != status or not isinstance(response.parsed, Product):
        fail(f"{what}: expected {status} with a product, got {response.status_code}: {response.content!r}")
    return response.parsed


def update_with_retry(
    client: AuthenticatedClient, product_id: uuid.UUID, version: int, change: dict[str, Any]
) -> tuple[Product, list[StaleVersionProblem]]:
    """README's retry on conflict: a stale-version 409 carries the current
    version, so re-send the change with it, after a short growing pause."""
    conflicts: list[StaleVersionProblem] = []
    for attempt in range(1, 6):
        response = update_product.sync_detailed(
            product_id, client=client, body=UpdateProductRequest(version=version, **change)
        )
        if response.status_code == 200:
            return product_of(response, 200, "update"), conflicts
        problem = response.parsed
        if response.status_code != 409 or not isinstance(problem, StaleVersionProblem):
            fail(f"update: expected 200 or a 409 stale-version, got {response.status_code}: {response.content!r}")
        expect(problem.type_ == "/problems/stale-version", f"409 of type {problem.type_}")
        if not problem.rebase_safe:
            fail(f"someone else changed {problem.conflicting_fields}: a person must decide")
        conflicts.append(problem)
        version = problem.current_version
        time.sleep(min(2.0, 0.05 * 2**attempt) * (1 + random.random()))
    fail("update: still stale after 5 attempts")


def main() -> None:
    base_url = os.environ.get("INVENTORY_URL") or fail("set INVENTORY_URL, e.g. http://127.0.0.1:8080")
    token = os.environ.get("INVENTORY_TOKEN") or fail("set INVENTORY_TOKEN to an API token")
    client = AuthenticatedClient(base_url=base_url, token=token, timeout=httpx.Timeout(10.0))

    # Create: version 1. A random SKU, as SKUs are unique among live products.
    sku = f"EXAMPLE-PY-{uuid.uuid4().hex[:12].upper()}"
    created = product_of(
        create_product.sync_detailed(
            client=client,
            body=CreateProductRequest(sku=sku, name="Blue mug", price_minor=1250, currency=CurrencyCode.EUR, stock=40),
        ),
        201,
        "create",
    )
    expect(created.sku == sku and created.version == 1 and created.stock == 40, f"created {created}")

    # Update with the version just read: version 2. (The spec offers this body
    # as application/json and application/merge-patch+json, and the generated
    # update_product sends it as the latter; the server takes either.)
    updated = product_of(
        update_product.sync_detailed(
            created.id, client=client, body=UpdateProductRequest(version=created.version, price_minor=1300)
        ),
        200,
        "update",
    )
    expect(updated.version == 2 and updated.price_minor == 1300, f"updated {updated}")

    # A colleague still holding version 1 renames it: the first attempt is
    # stale, the 409 names version 2, and the retry with it is applied.
    final, conflicts = update_with_retry(client, created.id, created.version, {"name": "Blue mug, large"})
    expect(len(conflicts) == 1, f"expected exactly one stale write, met {len(conflicts)}")
    stale = conflicts[0]
    expect(stale.your_version == 1 and stale.current_version == 2, f"409 versions {stale.your_version}, {stale.current_version}")
    expect(stale.current.version == 2 and stale.current.price_minor == 1300, f"409 current {stale.current}")
    expect([entry.version for entry in stale.changes_since] == [2], f"409 changes_since {stale.changes_since}")
    expect(stale.conflicting_fields == [], f"409 conflicting_fields {stale.conflicting_fields}")
    expect(final.version == 3, f"final version {final.version}")
    expect(final.name == "Blue mug, large" and final.price_minor == 1300, f"final {final}")

    # One sale of 3, sent twice with the same key as after a lost answer:
    # the second gets the first answer back and is not applied again.
    key = f"example-py-sale-{uuid.uuid4()}"
    sale = StockAdjustmentRequest(delta=-3, reason="sale #1042")
    first = adjust_stock.sync_detailed(final.id, client=client, body=sale, idempotency_key=key)
    applied = product_of(first, 200, "stock adjustment")
    expect(applied.stock == 37 and applied.version == 4, f"adjusted {applied}")
    expect(first.headers.get("Idempotent-Replayed") is None, "the first adjustment claims to be a replay")

    replay = adjust_stock.sync_detailed(final.id, client=client, body=sale, idempotency_key=key)
    replayed = product_of(replay, 200, "replayed stock adjustment")
    expect(replay.headers.get("Idempotent-Replayed") == "true", f"replay headers {dict(replay.headers)}")
    expect(replayed.to_dict() == applied.to_dict(), f"replay body {replayed} differs from {applied}")

    now = product_of(read_product.sync_detailed(final.id, client=client), 200, "read")
    expect(now.stock == 37 and now.version == 4, f"after the replay the product is {now}: applied twice?")

    print(f"python example: {sku} created, updated, stale write retried, stock adjusted once (stock {now.stock})")


if __name__ == "__main__":
    main()
