// The scenario of examples/README.md through the SDK that @hey-api/openapi-ts
// generates from openapi.yaml, with its fetch client: creates, updates and
// re-reads a product, meets a stale write and retries it with the version
// the 409 names, a stale If-Match, a replayed stock adjustment, a refused
// one, a stock sync, a paginated search, the history and a delete.
//
//   INVENTORY_URL=http://127.0.0.1:8080 INVENTORY_TOKEN=inv_... node build/scenario.js

import { randomBytes, randomUUID } from "node:crypto";
import { client } from "./generated/client.gen.js";
import {
  adjustStock,
  createProduct,
  deleteProduct,
  listProducts,
  productHistory,
  readProduct,
  syncStock,
  updateProduct,
} from "./generated/sdk.gen.js";
import type {
  AdjustStockErrors,
  Product,
  ReadProductErrors,
  UpdateProductErrors,
} from "./generated/types.gen.js";

const NAME = "hey-api";

function fail(step: string, message: string): never {
  console.error(`${NAME}: ${step}: ${message}`);
  process.exit(1);
}

function expect(step: string, condition: boolean, message: string): void {
  if (!condition) fail(step, message);
}

// What came back, for a failure message: the status and the body, or the
// thrown error when there was no answer (a network failure).
type Outcome = { data?: unknown; error?: unknown; response?: Response };

function show({ data, error, response }: Outcome): string {
  const body = error instanceof Error ? String(error) : JSON.stringify(error ?? data);
  return `${response?.status ?? "no answer"}: ${body}`;
}

// The answer's body when it is the expected success status.
function ok<T>(step: string, result: { data: T | undefined } & Outcome, status: number): T {
  if (result.response?.status !== status || result.error !== undefined || result.data === undefined) {
    fail(step, `expected ${status}, got ${show(result)}`);
  }
  return result.data;
}

// The SDK types `error` as the union of every error body the operation
// declares, whatever the status, and that union holds the plain Problem
// (whose `type` is any string), so it cannot be narrowed by `type` as is.
// The generated `<Operation>Errors` maps each status to its own body: once
// the status is checked, the body is that status's type, which is a union
// told apart by `type`.
function problem<Errors, S extends keyof Errors & number>(step: string, result: Outcome, status: S): Errors[S] {
  if (result.response?.status !== status || result.error === undefined) {
    fail(step, `expected ${status}, got ${show(result)}`);
  }
  return result.error as Errors[S];
}

// The SDK hands back the fetch Response beside the body: headers come from it.
function replayedHeader(result: Outcome): string | null {
  return result.response?.headers.get("Idempotent-Replayed") ?? null;
}

const baseUrl = process.env.INVENTORY_URL || fail("setup", "set INVENTORY_URL, e.g. http://127.0.0.1:8080");
const token = process.env.INVENTORY_TOKEN || fail("setup", "set INVENTORY_TOKEN to a manager token");
// The SDK functions use this client; `auth` answers the document's bearer
// security scheme, sent as `Authorization: Bearer <token>`.
client.setConfig({ baseUrl, auth: token });

// A random part in every SKU, so that runs (and other clients' runs) on the
// same server never clash, and step 8 can find this run's products alone.
const run = randomBytes(6).toString("hex").toUpperCase();
const sku = `EX-HEYAPI-${run}-A`;
const otherSku = `EX-HEYAPI-${run}-B`;

// 1. Create, then read back: version 1.
let step = "step 1 (create and read)";
const created = ok(step, await createProduct({
  body: { sku, name: "Blue mug", price_minor: 1250, currency: "EUR", stock: 40 },
}), 201);
expect(step, created.sku === sku && created.version === 1 && created.stock === 40, `created ${JSON.stringify(created)}`);
const id = created.id;
const readBack = ok(step, await readProduct({ path: { id } }), 200);
expect(step, readBack.version === 1 && readBack.sku === sku, `read back ${JSON.stringify(readBack)}`);

// 2. Update with the version just read: version 2.
step = "step 2 (update)";
const updated = ok(step, await updateProduct({
  path: { id },
  body: { version: readBack.version, price_minor: 1300 },
}), 200);
expect(step, updated.version === 2 && updated.price_minor === 1300, `updated ${JSON.stringify(updated)}`);

// 3. A write still based on version 1 is stale: the 409 is decoded into the
// stale-version problem, and the change is re-sent with its current_version.
step = "step 3 (stale write)";
const rename = { name: "Blue mug, large" };
const conflict = problem<UpdateProductErrors, 409>(step, await updateProduct({
  path: { id },
  body: { version: readBack.version, ...rename },
}), 409);
if (conflict.type !== "/problems/stale-version") fail(step, `expected a stale-version 409, got ${JSON.stringify(conflict)}`);
expect(step, conflict.your_version === 1 && conflict.current_version === 2,
  `409 versions: yours ${conflict.your_version}, current ${conflict.current_version}`);
expect(step, conflict.current.price_minor === 1300 && conflict.changes_since.map((change) => change.version).join() === "2",
  `409 current ${JSON.stringify(conflict.current)}, changes_since ${JSON.stringify(conflict.changes_since)}`);
expect(step, conflict.rebase_safe, `409 says the retry is not safe: ${conflict.conflicting_fields}`);
const retried = ok(step, await updateProduct({
  path: { id },
  body: { version: conflict.current_version, ...rename },
}), 200);
expect(step, retried.version === 3 && retried.name === rename.name && retried.price_minor === 1300,
  `after the retry ${JSON.stringify(retried)}`);

// 4. A PATCH whose If-Match names an old version (and no version in the
// body) is refused with 412.
step = "step 4 (stale If-Match)";
const precondition = problem<UpdateProductErrors, 412>(step, await updateProduct({
  path: { id },
  headers: { "If-Match": '"1"' },
  body: { description: "Stoneware, 350 ml" },
}), 412);
expect(step, precondition.type === "/problems/stale-version" && precondition.current_version === 3,
  `412 body ${JSON.stringify(precondition)}`);

// 5. One sale of 3 sent twice with the same Idempotency-Key, as after a lost
// answer: the second answer is the first replayed, applied once.
step = "step 5 (idempotent adjustment)";
const key = `ex-heyapi-${randomUUID()}`;
const sell = () => adjustStock({
  path: { id },
  headers: { "Idempotency-Key": key },
  body: { delta: -3, reason: "sale #1042" },
});
const first = await sell();
const applied = ok(step, first, 200);
expect(step, applied.stock === 37 && applied.version === 4, `adjusted ${JSON.stringify(applied)}`);
expect(step, replayedHeader(first) === null, "the first adjustment says it is a replay");
const second = await sell();
const replayed = ok(step, second, 200);
expect(step, replayedHeader(second) === "true", `the second answer's Idempotent-Replayed is ${replayedHeader(second)}`);
expect(step, JSON.stringify(replayed) === JSON.stringify(applied),
  `replayed ${JSON.stringify(replayed)}, first ${JSON.stringify(applied)}`);
const afterReplay = ok(step, await readProduct({ path: { id } }), 200);
expect(step, afterReplay.stock === 37 && afterReplay.version === 4, `after the replay ${JSON.stringify(afterReplay)}: applied twice?`);

// 6. Selling more than the stock is refused, and changes nothing.
step = "step 6 (insufficient stock)";
const shortage = problem<AdjustStockErrors, 409>(step, await adjustStock({
  path: { id },
  body: { delta: -1000, reason: "oversized order" },
}), 409);
if (shortage.type !== "/problems/insufficient-stock") fail(step, `expected insufficient-stock, got ${JSON.stringify(shortage)}`);
expect(step, shortage.current_stock === 37, `409 current_stock ${shortage.current_stock}`);
const afterShortage = ok(step, await readProduct({ path: { id } }), 200);
expect(step, afterShortage.stock === 37 && afterShortage.version === 4, `after the refusal ${JSON.stringify(afterShortage)}`);

// 7. A second product, and one sync: a count based on version 4 for the
// first, a forced count for the second.
step = "step 7 (stock sync)";
const other = ok(step, await createProduct({
  body: { sku: otherSku, name: "Red mug", price_minor: 1250, currency: "EUR", stock: 5 },
}), 201);
const outcome = ok(step, await syncStock({
  body: {
    items: [
      { sku, stock: 30, expected_version: 4 },
      { sku: otherSku, stock: 9, force: true },
    ],
    reason: "stock count",
  },
}), 200);
const [firstResult, otherResult] = outcome.results;
expect(step,
  outcome.results.length === 2 && outcome.summary.updated === 2
    && firstResult?.status === "updated" && firstResult.version === 5 && firstResult.stock === 30
    && otherResult?.status === "updated" && otherResult.stock === 9,
  `sync answered ${JSON.stringify(outcome)}`);
const synced = ok(step, await readProduct({ path: { id } }), 200);
expect(step, synced.stock === 30 && synced.version === 5, `first product after the sync ${JSON.stringify(synced)}`);
const otherSynced = ok(step, await readProduct({ path: { id: other.id } }), 200);
expect(step, otherSynced.stock === 9 && otherSynced.version === 2, `second product after the sync ${JSON.stringify(otherSynced)}`);

// 8. This run's products, one per page, following next_cursor.
step = "step 8 (list)";
const found: Product[] = [];
let cursor: string | undefined;
for (let page = 1; ; page++) {
  // Two products make three pages at most (the last one may be empty).
  if (page > 5) fail(step, `still a next_cursor after ${page - 1} pages: ${found.map((p) => p.sku)}`);
  const listed = ok(step, await listProducts({ query: { q: run, limit: 1, cursor } }), 200);
  expect(step, listed.items.length <= 1, `a page of ${listed.items.length} items with limit=1`);
  found.push(...listed.items);
  if (listed.next_cursor === null) break;
  cursor = listed.next_cursor;
}
expect(step, found.map((p) => p.sku).join() === `${sku},${otherSku}`, `found ${JSON.stringify(found.map((p) => p.sku))}`);

// 9. The first product's history holds every version, newest first.
step = "step 9 (history)";
const history = ok(step, await productHistory({ path: { id } }), 200);
const versions = history.items.map((entry) => entry.version).reverse();
expect(step, versions.join() === "1,2,3,4,5" && history.next_cursor === null,
  `history versions ${versions}, next_cursor ${history.next_cursor}`);

// 10. Delete with the version read last, then the product is gone.
step = "step 10 (delete)";
ok(step, await deleteProduct({ path: { id }, query: { version: synced.version } }), 204);
const gone = problem<ReadProductErrors, 404>(step, await readProduct({ path: { id } }), 404);
expect(step, gone.type === "/problems/not-found", `404 body ${JSON.stringify(gone)}`);

console.log(`${NAME}: ok (${sku} and ${otherSku}: 10 steps)`);
