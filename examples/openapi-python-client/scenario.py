"""The inventory API through the client generated from openapi.yaml.

Runs the ten steps of examples/README.md's scenario, in order: creates a
product and reads it back, updates it, meets a stale write and retries it
with the version the typed 409 names, gets a 412 for a stale If-Match, sends
one stock adjustment twice with the same Idempotency-Key and checks it was
applied once, is refused an adjustment below zero, syncs the stock of it and
of a second product, lists both one per page, reads the first one's history
and deletes it. Exits non-zero, naming the step, at the first answer that is
not as expected.

    INVENTORY_URL=http://127.0.0.1:8080 INVENTORY_TOKEN=inv_... python scenario.py
"""

import os
import random
import sys
import time
import uuid
from typing import Any, NoReturn

import httpx

from inventory_api_client import AuthenticatedClient
from inventory_api_client.api.products import (
    create_product,
    delete_product,
    list_products,
    product_history,
    read_product,
    update_product,
)
from inventory_api_client.api.stock import adjust_stock, sync_stock
from inventory_api_client.models import (
    AdjustedProduct,
    CreateProductRequest,
    CurrencyCode,
    ForcedStockCount,
    HistoryEntry,
    HistoryPage,
    InsufficientStockProblem,
    Operation,
    Problem,
    Product,
    ProductPage,
    StaleVersionProblem,
    StockAdjustmentRequest,
    StockSyncRequest,
    SyncOutcome,
    SyncStatus,
    UpdateProductRequest,
    VersionedStockCount,
)
from inventory_api_client.types import UNSET, Response, Unset

NAME = "openapi-python-client"
# The step running now, so that every failure names it.
current_step = "setup"


def step(number: int, what: str) -> None:
    global current_step
    current_step = f"step {number} ({what})"


def fail(message: str) -> NoReturn:
    sys.exit(f"{NAME}: {current_step}: {message}")


def expect(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def adjusted_of(response: Response[Any], what: str) -> AdjustedProduct:
    """The adjusted product (with its level) in a 200, or a clear failure."""
    if response.status_code != 200 or not isinstance(response.parsed, AdjustedProduct):
        fail(f"{what}: expected 200 with an adjusted product, got {response.status_code}: {response.content!r}")
    return response.parsed


def product_of(response: Response[Any], status: int, what: str) -> Product:
    """The product in a success response, or a clear failure naming what came back."""
    if response.status_code != status or not isinstance(response.parsed, Product):
        fail(f"{what}: expected {status} with a product, got {response.status_code}: {response.content!r}")
    return response.parsed


def read(client: AuthenticatedClient, product_id: uuid.UUID) -> Product:
    return product_of(read_product.sync_detailed(product_id, client=client), 200, "read")


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

    # A random part in both SKUs: SKUs are unique among live products, and
    # step 8 finds this run's products (and only them) by it.
    run = uuid.uuid4().hex[:12].upper()
    sku = f"EX-PY-{run}"
    second_sku = f"EX-PY-{run}-B"

    step(1, "create and read back")
    created = product_of(
        create_product.sync_detailed(
            client=client,
            body=CreateProductRequest(sku=sku, name="Blue mug", price_minor=1250, currency=CurrencyCode.EUR, stock=40),
        ),
        201,
        "create",
    )
    expect(created.sku == sku and created.version == 1 and created.stock == 40, f"created {created}")
    fetched = read(client, created.id)
    expect(fetched.to_dict() == created.to_dict(), f"read back {fetched}, created {created}")

    step(2, "update with the version read")
    # The spec offers this body as application/json and
    # application/merge-patch+json, and the generated update_product sends it
    # as the latter; the server takes either.
    updated = product_of(
        update_product.sync_detailed(
            created.id, client=client, body=UpdateProductRequest(version=fetched.version, price_minor=1300)
        ),
        200,
        "update",
    )
    expect(updated.version == 2 and updated.price_minor == 1300, f"updated {updated}")

    step(3, "stale write, retried with the 409's current_version")
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

    step(4, "stale If-Match")
    # The version goes in If-Match only: the body names none, so the server
    # judges by the header and answers 412 rather than 409.
    precondition = update_product.sync_detailed(
        final.id, client=client, body=UpdateProductRequest(name="Blue mug, small"), if_match='"1"'
    )
    failed = precondition.parsed
    if precondition.status_code != 412 or not isinstance(failed, StaleVersionProblem):
        fail(f"expected 412 stale-version, got {precondition.status_code}: {precondition.content!r}")
    expect(failed.your_version == 1 and failed.current_version == 3, f"412 versions {failed.your_version}, {failed.current_version}")
    expect(read(client, final.id).version == 3, "the refused PATCH changed the product")

    step(5, "stock adjustment sent twice with one Idempotency-Key")
    # One sale of 3, sent twice with the same key as after a lost answer:
    # the second gets the first answer back and is not applied again.
    key = f"ex-py-sale-{uuid.uuid4()}"
    sale = StockAdjustmentRequest(delta=-3, reason="sale #1042")
    first = adjust_stock.sync_detailed(final.id, client=client, body=sale, idempotency_key=key)
    applied = adjusted_of(first, "stock adjustment")
    expect(applied.stock == 37 and applied.version == 4, f"adjusted {applied}")
    expect(applied.level.location == "MAIN" and applied.level.on_hand == 37, f"level {applied.level}")
    expect(first.headers.get("Idempotent-Replayed") is None, "the first adjustment claims to be a replay")

    replay = adjust_stock.sync_detailed(final.id, client=client, body=sale, idempotency_key=key)
    replayed = adjusted_of(replay, "replayed stock adjustment")
    expect(replay.headers.get("Idempotent-Replayed") == "true", f"replay headers {dict(replay.headers)}")
    expect(replayed.to_dict() == applied.to_dict(), f"replay body {replayed} differs from {applied}")

    now = read(client, final.id)
    expect(now.stock == 37 and now.version == 4, f"after the replay the product is {now}: applied twice?")

    step(6, "adjustment below zero")
    short = adjust_stock.sync_detailed(
        final.id, client=client, body=StockAdjustmentRequest(delta=-1000, reason="sale #1043")
    )
    refused = short.parsed
    if short.status_code != 409 or not isinstance(refused, InsufficientStockProblem):
        fail(f"expected 409 insufficient-stock, got {short.status_code}: {short.content!r}")
    expect(refused.type_ == "/problems/insufficient-stock", f"409 of type {refused.type_}")
    expect(refused.current_stock == 37, f"409 current_stock {refused.current_stock}")
    now = read(client, final.id)
    expect(now.stock == 37 and now.version == 4, f"after the refused adjustment the product is {now}")

    step(7, "stock sync, one versioned item and one forced")
    second = product_of(
        create_product.sync_detailed(
            client=client,
            body=CreateProductRequest(
                sku=second_sku, name="Red mug", price_minor=1250, currency=CurrencyCode.EUR, stock=12
            ),
        ),
        201,
        "create the second product",
    )
    sync = sync_stock.sync_detailed(
        client=client,
        body=StockSyncRequest(
            items=[
                VersionedStockCount(sku=sku, stock=30, expected_version=4),
                ForcedStockCount(sku=second_sku, stock=9, force=True),
            ],
            reason="nightly count",
        ),
    )
    outcome = sync.parsed
    if sync.status_code != 200 or not isinstance(outcome, SyncOutcome):
        fail(f"expected 200 with the outcome, got {sync.status_code}: {sync.content!r}")
    results = [(r.sku, r.status, r.version, r.stock) for r in outcome.results]
    expect(
        results == [(sku, SyncStatus.UPDATED, 5, 30), (second_sku, SyncStatus.UPDATED, 2, 9)],
        f"sync results {results}",
    )
    counts = outcome.summary
    expect(
        (counts.updated, counts.unchanged, counts.conflict, counts.not_found) == (2, 0, 0, 0),
        f"sync summary {counts}",
    )
    now = read(client, final.id)
    expect(now.stock == 30 and now.version == 5, f"after the sync the first product is {now}")
    other = read(client, second.id)
    expect(other.stock == 9 and other.version == 2, f"after the sync the second product is {other}")

    step(8, "list one per page")
    found: list[str] = []
    cursor: str | Unset = UNSET
    for _ in range(10):
        listing = list_products.sync_detailed(client=client, q=run, limit=1, cursor=cursor)
        page = listing.parsed
        if listing.status_code != 200 or not isinstance(page, ProductPage):
            fail(f"expected 200 with a page, got {listing.status_code}: {listing.content!r}")
        expect(len(page.items) <= 1, f"a page of {len(page.items)} items for limit=1")
        found += [item.sku for item in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    else:
        fail(f"next_cursor still set after 10 pages, found {found}")
    # Oldest first: the first product, then the second.
    expect(found == [sku, second_sku], f"listed {found}")

    step(9, "history")
    entries: list[HistoryEntry] = []
    cursor = UNSET
    for _ in range(10):
        history = product_history.sync_detailed(final.id, client=client, cursor=cursor)
        versions_page = history.parsed
        if history.status_code != 200 or not isinstance(versions_page, HistoryPage):
            fail(f"expected 200 with a page, got {history.status_code}: {history.content!r}")
        entries += versions_page.items
        if versions_page.next_cursor is None:
            break
        cursor = versions_page.next_cursor
    else:
        fail("next_cursor still set after 10 pages")
    # Newest first, as the document says.
    timeline = [(entry.version, entry.operation) for entry in reversed(entries)]
    expect(
        timeline
        == [
            (1, Operation.CREATE),
            (2, Operation.UPDATE),
            (3, Operation.UPDATE),
            (4, Operation.STOCK_ADJUSTMENT),
            (5, Operation.STOCK_SYNC),
        ],
        f"history {timeline}",
    )

    step(10, "delete with the version, then read 404")
    deletion = delete_product.sync_detailed(final.id, client=client, version=5)
    expect(deletion.status_code == 204, f"delete: expected 204, got {deletion.status_code}: {deletion.content!r}")
    gone = read_product.sync_detailed(final.id, client=client)
    missing = gone.parsed
    if gone.status_code != 404 or not isinstance(missing, Problem):
        fail(f"read after delete: expected 404, got {gone.status_code}: {gone.content!r}")
    expect(missing.type_ == "/problems/not-found", f"404 of type {missing.type_}")

    print(f"{NAME}: ok ({sku}: 10 steps, history versions 1-5, deleted; {second_sku} left at stock 9)")


if __name__ == "__main__":
    main()
