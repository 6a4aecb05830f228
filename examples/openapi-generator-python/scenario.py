"""The scenario of examples/README.md through the openapi-generator `python` client.

Every call goes through the generated ProductsApi/StockApi and models; error
answers arrive as the generated exceptions, whose `data` holds the body decoded
into the generated problem models.

    INVENTORY_URL=http://127.0.0.1:8080 INVENTORY_TOKEN=inv_... python scenario.py
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Mapping
from typing import NoReturn, TypeVar

import urllib3

from inventory_api_client import ApiClient, Configuration
from inventory_api_client.api.products_api import ProductsApi
from inventory_api_client.api.stock_api import StockApi
from inventory_api_client.exceptions import ApiException, ConflictException, NotFoundException
from inventory_api_client.models.adjust_stock409_response import AdjustStock409Response
from inventory_api_client.models.create_product_request import CreateProductRequest
from inventory_api_client.models.currency_code import CurrencyCode
from inventory_api_client.models.forced_stock_count import ForcedStockCount
from inventory_api_client.models.insufficient_stock_problem import InsufficientStockProblem
from inventory_api_client.models.product import Product
from inventory_api_client.models.stale_version_problem import StaleVersionProblem
from inventory_api_client.models.stock_adjustment_request import StockAdjustmentRequest
from inventory_api_client.models.stock_sync_item_request import StockSyncItemRequest
from inventory_api_client.models.stock_sync_request import StockSyncRequest
from inventory_api_client.models.sync_status import SyncStatus
from inventory_api_client.models.update_conflict_problem import UpdateConflictProblem
from inventory_api_client.models.update_product_request import UpdateProductRequest
from inventory_api_client.models.versioned_stock_count import VersionedStockCount

NAME = "openapi-generator-python"
T = TypeVar("T")


def fail(step: str, message: str) -> NoReturn:
    sys.exit(f"{NAME}: {step}: {message}")


def expect(condition: bool, step: str, message: str) -> None:
    if not condition:
        fail(step, message)


def describe(error: ApiException) -> str:
    return f"HTTP {error.status}: {error.body}"


def call(step: str, action: Callable[[], T]) -> T:
    """Runs one call that should succeed; any error answer ends the run naming the step."""
    try:
        return action()
    except ApiException as error:
        fail(step, f"unexpected {describe(error)}")
    except (urllib3.exceptions.HTTPError, ValueError) as error:
        # No answer at all, or a success body the generated models refuse.
        fail(step, f"no usable answer: {error!r}")


def expect_error(step: str, status: int, action: Callable[[], object]) -> ApiException:
    """Runs one call that should be refused with `status`, and returns the refusal."""
    try:
        answer = action()
    except ApiException as error:
        if error.status != status:
            fail(step, f"expected HTTP {status}, got {describe(error)}")
        return error
    except (urllib3.exceptions.HTTPError, ValueError) as error:
        fail(step, f"expected HTTP {status}, got no usable answer: {error!r}")
    fail(step, f"expected HTTP {status}, got a success: {answer!r}")


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    # Looked up ignoring case: HTTP header names are case-insensitive, and the
    # generated ApiResponse does not promise a case-insensitive mapping.
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return value
    return None


def main() -> None:
    base_url = os.environ.get("INVENTORY_URL") or fail("setup", "set INVENTORY_URL, e.g. http://127.0.0.1:8080")
    token = os.environ.get("INVENTORY_TOKEN") or fail("setup", "set INVENTORY_TOKEN to a manager token")

    with ApiClient(Configuration(host=base_url.rstrip("/"), access_token=token)) as client:
        products = ProductsApi(client)
        stock = StockApi(client)

        # Random part so that repeated runs, and other clients on the same
        # server, never meet each other's SKUs.
        run_id = uuid.uuid4().hex[:12].upper()
        sku = f"EX-OGPY-{run_id}"

        # 1. Create, read back: version 1.
        step = "1 create"
        created = call(
            step,
            lambda: products.create_product(
                CreateProductRequest(
                    sku=sku,
                    name="Blue mug",
                    description="Stoneware, 350 ml",
                    price_minor=1250,
                    currency=CurrencyCode.EUR,
                    stock=40,
                )
            ),
        )
        expect(created.sku == sku and created.version == 1 and created.stock == 40, step, f"created {created}")
        product_id = created.id
        read = call("1 read", lambda: products.read_product(product_id))
        expect(read.version == 1 and read.sku == sku, "1 read", f"read back {read}")

        # 2. Update with the version just read: version 2.
        step = "2 update"
        updated = call(
            step,
            lambda: products.update_product(product_id, UpdateProductRequest(version=read.version, price_minor=1300)),
        )
        expect(updated.version == 2 and updated.price_minor == 1300, step, f"updated {updated}")

        # 3. A write still based on version 1: the 409 body is decoded by the
        # client into UpdateConflictProblem, a oneOf whose actual_instance is
        # the typed StaleVersionProblem; retry with its current_version.
        step = "3 stale write"
        conflict = expect_error(
            step,
            409,
            lambda: products.update_product(product_id, UpdateProductRequest(version=1, name="Blue mug, large")),
        )
        expect(isinstance(conflict, ConflictException), step, f"409 raised as {type(conflict).__name__}")
        union = conflict.data
        if not isinstance(union, UpdateConflictProblem) or not isinstance(union.actual_instance, StaleVersionProblem):
            fail(step, f"409 body not decoded into a StaleVersionProblem: {union!r} from {conflict.body}")
        stale: StaleVersionProblem = union.actual_instance
        expect(stale.type == "/problems/stale-version", step, f"problem type {stale.type}")
        expect(stale.your_version == 1 and stale.current_version == 2, step, f"versions {stale.your_version}, {stale.current_version}")
        expect(stale.current.version == 2 and stale.current.price_minor == 1300, step, f"current {stale.current}")
        expect([entry.version for entry in stale.changes_since] == [2], step, f"changes_since {stale.changes_since}")
        expect(stale.rebase_safe and stale.conflicting_fields == [], step, f"conflicting_fields {stale.conflicting_fields}")
        retried = call(
            "3 retry",
            lambda: products.update_product(
                product_id, UpdateProductRequest(version=stale.current_version, name="Blue mug, large")
            ),
        )
        expect(
            retried.version == 3 and retried.name == "Blue mug, large" and retried.price_minor == 1300,
            "3 retry",
            f"retried {retried}",
        )

        # 4. A stale If-Match (no version in the body): 412, same problem body.
        step = "4 stale If-Match"
        precondition = expect_error(
            step,
            412,
            lambda: products.update_product(product_id, UpdateProductRequest(description="Large"), if_match='"1"'),
        )
        stale412 = precondition.data
        expect(
            isinstance(stale412, StaleVersionProblem) and stale412.current_version == 3,
            step,
            f"412 body {stale412!r} from {precondition.body}",
        )

        # 5. One sale sent twice with the same Idempotency-Key: the second
        # answer is the first replayed, and the stock moved once.
        step = "5 idempotent adjustment"
        key = f"ogpy-{uuid.uuid4()}"
        sale = StockAdjustmentRequest(delta=-3, reason="sale #1042")
        first = call(step, lambda: stock.adjust_stock_with_http_info(product_id, sale, idempotency_key=key))
        expect(first.status_code == 200, step, f"first answer HTTP {first.status_code}")
        expect(first.data.stock == 37 and first.data.version == 4, step, f"adjusted {first.data}")
        expect(header(first.headers, "Idempotent-Replayed") is None, step, "the first answer claims to be a replay")
        second = call(step, lambda: stock.adjust_stock_with_http_info(product_id, sale, idempotency_key=key))
        expect(second.status_code == 200, step, f"replayed answer HTTP {second.status_code}")
        expect(
            header(second.headers, "Idempotent-Replayed") == "true",
            step,
            f"replay headers {dict(second.headers or {})}",
        )
        expect(
            second.raw_data == first.raw_data and second.data == first.data,
            step,
            f"replayed body {second.raw_data!r} differs from {first.raw_data!r}",
        )
        now = call("5 read", lambda: products.read_product(product_id))
        expect(now.stock == 37 and now.version == 4, "5 read", f"after the replay: {now} (applied twice?)")

        # 6. More than the stock: 409 insufficient-stock (the 409's oneOf
        # decoded into its actual_instance), and nothing changes.
        step = "6 insufficient stock"
        short = expect_error(
            step,
            409,
            lambda: stock.adjust_stock(product_id, StockAdjustmentRequest(delta=-1000, reason="oversell")),
        )
        union = short.data
        problem = union.actual_instance if isinstance(union, AdjustStock409Response) else None
        if not isinstance(problem, InsufficientStockProblem):
            fail(step, f"409 body not decoded into an InsufficientStockProblem: {union!r} from {short.body}")
        expect(problem.type == "/problems/insufficient-stock", step, f"problem type {problem.type}")
        expect(problem.current_stock == 37, step, f"current_stock {problem.current_stock}")
        now = call("6 read", lambda: products.read_product(product_id))
        expect(now.stock == 37 and now.version == 4, "6 read", f"after the refusal: {now}")

        # 7. A second product, then one sync: a versioned count for the first,
        # a forced one for the second.
        step = "7 stock sync"
        other_sku = f"EX-OGPY-{run_id}-B"
        other = call(
            "7 create second",
            lambda: products.create_product(
                CreateProductRequest(sku=other_sku, name="Red mug", price_minor=1250, currency=CurrencyCode.EUR, stock=5)
            ),
        )
        expect(other.version == 1 and other.stock == 5, "7 create second", f"created {other}")
        outcome = call(
            step,
            lambda: stock.sync_stock(
                StockSyncRequest(
                    items=[
                        StockSyncItemRequest(VersionedStockCount(sku=sku, stock=30, expected_version=4)),
                        StockSyncItemRequest(ForcedStockCount(sku=other_sku, stock=9, force=True)),
                    ],
                    reason="nightly count",
                )
            ),
        )
        statuses = [(result.sku, result.status, result.version, result.stock) for result in outcome.results]
        expect(
            statuses == [(sku, SyncStatus.UPDATED, 5, 30), (other_sku, SyncStatus.UPDATED, 2, 9)],
            step,
            f"results {statuses}",
        )
        summary = outcome.summary
        expect(
            (summary.updated, summary.unchanged, summary.conflict, summary.not_found) == (2, 0, 0, 0),
            step,
            f"summary {summary}",
        )
        first_now = call("7 read first", lambda: products.read_product(product_id))
        expect(first_now.stock == 30 and first_now.version == 5, "7 read first", f"first product {first_now}")
        other_now = call("7 read second", lambda: products.read_product(other.id))
        expect(other_now.stock == 9 and other_now.version == 2, "7 read second", f"second product {other_now}")

        # 8. List by the run's random part, one per page, to the last page.
        step = "8 list"
        seen: list[Product] = []
        cursor: str | None = None
        for _ in range(10):
            page = call(step, lambda: products.list_products(limit=1, q=run_id, cursor=cursor))
            expect(len(page.items) <= 1, step, f"{len(page.items)} items on a page of 1")
            seen.extend(page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        else:
            fail(step, "still a next_cursor after 10 pages")
        expect(
            sorted(str(item.id) for item in seen) == sorted([str(product_id), str(other.id)]),
            step,
            f"listed {[item.sku for item in seen]}",
        )

        # 9. History, newest first: versions 5 down to 1.
        step = "9 history"
        versions: list[int] = []
        history_cursor: str | None = None
        for _ in range(10):
            history = call(step, lambda: products.product_history(product_id, cursor=history_cursor))
            versions.extend(entry.version for entry in history.items)
            history_cursor = history.next_cursor
            if history_cursor is None:
                break
        else:
            fail(step, "still a next_cursor after 10 pages")
        expect(versions == [5, 4, 3, 2, 1], step, f"versions {versions}")

        # 10. Delete with the version held, then the product is gone.
        step = "10 delete"
        deleted = call(step, lambda: products.delete_product_with_http_info(product_id, version=5))
        expect(deleted.status_code == 204, step, f"HTTP {deleted.status_code}")
        gone = expect_error("10 read deleted", 404, lambda: products.read_product(product_id))
        expect(isinstance(gone, NotFoundException), "10 read deleted", f"404 raised as {type(gone).__name__}")

        print(f"{NAME}: ok ({sku}: created, updated, stale write retried, If-Match 412, adjusted once, "
              f"oversell refused, synced, listed, history 1-5, deleted)")


if __name__ == "__main__":
    main()
