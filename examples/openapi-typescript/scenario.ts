// The inventory API through openapi-fetch, typed by openapi-typescript from
// openapi.yaml. Runs the ten steps of examples/README.md's scenario, in
// order: creates a product and reads it back, updates it, meets a stale write
// and retries it with the version the typed 409 names, gets a 412 for a stale
// If-Match, sends one stock adjustment twice with the same Idempotency-Key and
// checks it was applied once, is refused an adjustment below zero, syncs the
// stock of it and of a second product, lists both one per page, reads the
// first one's history and deletes it. Exits non-zero, naming the step, at the
// first answer that is not as expected.
//
//   INVENTORY_URL=http://127.0.0.1:8080 INVENTORY_TOKEN=inv_... node build/scenario.js

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Product = components["schemas"]["Product"];
type Problem = components["schemas"]["Problem"];
type StaleVersionProblem = components["schemas"]["StaleVersionProblem"];
type InsufficientStockProblem = components["schemas"]["InsufficientStockProblem"];
type HistoryEntry = components["schemas"]["HistoryEntry"];
type HistoryPage = components["schemas"]["HistoryPage"];
type ProductChange = Omit<components["schemas"]["UpdateProductRequest"], "version">;

const NAME = "openapi-typescript";
// The step running now, so that every failure names it.
let currentStep = "setup";

function step(number: number, what: string): void {
  currentStep = `step ${number} (${what})`;
}

function fail(message: string): never {
  console.error(`${NAME}: ${currentStep}: ${message}`);
  process.exit(1);
}

function expect(condition: boolean, message: string): void {
  if (!condition) fail(message);
}

// openapi-fetch types `error` as the union of every error body of the
// operation, whatever the status; that union holds the plain Problem, whose
// `type` is any string, so TypeScript cannot narrow it by `type`: these guards do.
function isStaleVersion(problem: Problem | undefined): problem is StaleVersionProblem {
  return problem?.type === "/problems/stale-version";
}

function isInsufficientStock(problem: Problem | undefined): problem is InsufficientStockProblem {
  return problem?.type === "/problems/insufficient-stock";
}

const baseUrl = process.env.INVENTORY_URL ?? fail("set INVENTORY_URL, e.g. http://127.0.0.1:8080");
const token = process.env.INVENTORY_TOKEN ?? fail("set INVENTORY_TOKEN to an API token");
const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

async function read(id: string): Promise<Product> {
  const { data, error, response } = await client.GET("/v1/products/{id}", { params: { path: { id } } });
  return data ?? fail(`read: got ${response.status}: ${JSON.stringify(error)}`);
}

// README's retry on conflict: a stale-version 409 carries the current
// version, so re-send the change with it, after a short growing pause.
async function updateWithRetry(
  id: string,
  version: number,
  change: ProductChange,
): Promise<{ product: Product; conflicts: StaleVersionProblem[] }> {
  const conflicts: StaleVersionProblem[] = [];
  for (let attempt = 1; attempt <= 5; attempt++) {
    const { data, error, response } = await client.PATCH("/v1/products/{id}", {
      params: { path: { id } },
      body: { version, ...change },
    });
    if (data) return { product: data, conflicts };
    if (response.status !== 409 || !isStaleVersion(error)) {
      fail(`update: expected 200 or a 409 stale-version, got ${response.status}: ${JSON.stringify(error)}`);
    }
    if (!error.rebase_safe) fail(`someone else changed ${error.conflicting_fields}: a person must decide`);
    conflicts.push(error);
    version = error.current_version;
    await sleep(Math.min(2000, 50 * 2 ** attempt) * (1 + Math.random()));
  }
  fail("update: still stale after 5 attempts");
}

// A random part in both SKUs: SKUs are unique among live products, and
// step 8 finds this run's products (and only them) by it.
const run = randomUUID().replaceAll("-", "").slice(0, 12).toUpperCase();
const sku = `EX-TS-${run}`;
const secondSku = `EX-TS-${run}-B`;

step(1, "create and read back");
const create = await client.POST("/v1/products", {
  body: { sku, name: "Blue mug", price_minor: 1250, currency: "EUR", stock: 40 },
});
const created = create.data ?? fail(`create: got ${create.response.status}: ${JSON.stringify(create.error)}`);
expect(create.response.status === 201, `create answered ${create.response.status}`);
expect(created.sku === sku && created.version === 1 && created.stock === 40, `created ${JSON.stringify(created)}`);
const fetched = await read(created.id);
expect(JSON.stringify(fetched) === JSON.stringify(created), `read back ${JSON.stringify(fetched)}`);

step(2, "update with the version read");
const update = await client.PATCH("/v1/products/{id}", {
  params: { path: { id: created.id } },
  body: { version: fetched.version, price_minor: 1300 },
});
const updated = update.data ?? fail(`update: got ${update.response.status}: ${JSON.stringify(update.error)}`);
expect(updated.version === 2 && updated.price_minor === 1300, `updated ${JSON.stringify(updated)}`);

step(3, "stale write, retried with the 409's current_version");
// A colleague still holding version 1 renames it: the first attempt is
// stale, the 409 names version 2, and the retry with it is applied.
const { product: final, conflicts } = await updateWithRetry(created.id, created.version, { name: "Blue mug, large" });
expect(conflicts.length === 1, `expected exactly one stale write, met ${conflicts.length}`);
const stale = conflicts[0] ?? fail("expected a stale write, met none");
expect(stale.your_version === 1 && stale.current_version === 2, `409 versions ${stale.your_version}, ${stale.current_version}`);
expect(stale.current.version === 2 && stale.current.price_minor === 1300, `409 current ${JSON.stringify(stale.current)}`);
expect(stale.changes_since.map((entry) => entry.version).join() === "2", `409 changes_since ${JSON.stringify(stale.changes_since)}`);
expect(stale.conflicting_fields.length === 0, `409 conflicting_fields ${stale.conflicting_fields}`);
expect(final.version === 3, `final version ${final.version}`);
expect(final.name === "Blue mug, large" && final.price_minor === 1300, `final ${JSON.stringify(final)}`);

step(4, "stale If-Match");
// The version goes in If-Match only: the body names none, so the server
// judges by the header and answers 412 rather than 409.
const precondition = await client.PATCH("/v1/products/{id}", {
  params: { path: { id: final.id }, header: { "If-Match": '"1"' } },
  body: { name: "Blue mug, small" },
});
if (precondition.response.status !== 412 || !isStaleVersion(precondition.error)) {
  fail(`expected 412 stale-version, got ${precondition.response.status}: ${JSON.stringify(precondition.error ?? precondition.data)}`);
}
const failed = precondition.error;
expect(failed.your_version === 1 && failed.current_version === 3, `412 versions ${failed.your_version}, ${failed.current_version}`);
expect((await read(final.id)).version === 3, "the refused PATCH changed the product");

step(5, "stock adjustment sent twice with one Idempotency-Key");
// One sale of 3, sent twice with the same key as after a lost answer:
// the second gets the first answer back and is not applied again.
const key = `ex-ts-sale-${randomUUID()}`;
const adjust = () =>
  client.POST("/v1/products/{id}/stock-adjustments", {
    params: { path: { id: final.id }, header: { "Idempotency-Key": key } },
    body: { delta: -3, reason: "sale #1042" },
  });
const first = await adjust();
const applied = first.data ?? fail(`stock adjustment: got ${first.response.status}: ${JSON.stringify(first.error)}`);
expect(applied.stock === 37 && applied.version === 4, `adjusted ${JSON.stringify(applied)}`);
expect(first.response.headers.get("Idempotent-Replayed") === null, "the first adjustment claims to be a replay");

const replay = await adjust();
const replayed = replay.data ?? fail(`replay: got ${replay.response.status}: ${JSON.stringify(replay.error)}`);
expect(replay.response.headers.get("Idempotent-Replayed") === "true", `replay headers ${JSON.stringify([...replay.response.headers])}`);
expect(JSON.stringify(replayed) === JSON.stringify(applied), `replay body ${JSON.stringify(replayed)} differs from ${JSON.stringify(applied)}`);

let now = await read(final.id);
expect(now.stock === 37 && now.version === 4, `after the replay the product is ${JSON.stringify(now)}: applied twice?`);

step(6, "adjustment below zero");
const short = await client.POST("/v1/products/{id}/stock-adjustments", {
  params: { path: { id: final.id } },
  body: { delta: -1000, reason: "sale #1043" },
});
if (short.response.status !== 409 || !isInsufficientStock(short.error)) {
  fail(`expected 409 insufficient-stock, got ${short.response.status}: ${JSON.stringify(short.error ?? short.data)}`);
}
expect(short.error.current_stock === 37, `409 current_stock ${short.error.current_stock}`);
now = await read(final.id);
expect(now.stock === 37 && now.version === 4, `after the refused adjustment the product is ${JSON.stringify(now)}`);

step(7, "stock sync, one versioned item and one forced");
const createSecond = await client.POST("/v1/products", {
  body: { sku: secondSku, name: "Red mug", price_minor: 1250, currency: "EUR", stock: 12 },
});
const second =
  createSecond.data ?? fail(`create the second product: got ${createSecond.response.status}: ${JSON.stringify(createSecond.error)}`);
const sync = await client.POST("/v1/stock-sync", {
  body: {
    items: [
      { sku, stock: 30, expected_version: 4 },
      { sku: secondSku, stock: 9, force: true },
    ],
    reason: "nightly count",
  },
});
const outcome = sync.data ?? fail(`expected 200 with the outcome, got ${sync.response.status}: ${JSON.stringify(sync.error)}`);
const results = JSON.stringify(outcome.results.map(({ sku, status, version, stock }) => [sku, status, version, stock]));
const wanted = JSON.stringify([
  [sku, "updated", 5, 30],
  [secondSku, "updated", 2, 9],
]);
expect(results === wanted, `sync results ${results}`);
const { updated: nUpdated, unchanged, conflict, not_found } = outcome.summary;
expect(nUpdated === 2 && unchanged === 0 && conflict === 0 && not_found === 0, `sync summary ${JSON.stringify(outcome.summary)}`);
now = await read(final.id);
expect(now.stock === 30 && now.version === 5, `after the sync the first product is ${JSON.stringify(now)}`);
const other = await read(second.id);
expect(other.stock === 9 && other.version === 2, `after the sync the second product is ${JSON.stringify(other)}`);

step(8, "list one per page");
const found: string[] = [];
let cursor: string | undefined;
for (let pages = 0; ; pages++) {
  if (pages === 10) fail(`next_cursor still set after 10 pages, found ${found}`);
  const listing = await client.GET("/v1/products", { params: { query: { q: run, limit: 1, cursor } } });
  const page = listing.data ?? fail(`expected 200 with a page, got ${listing.response.status}: ${JSON.stringify(listing.error)}`);
  expect(page.items.length <= 1, `a page of ${page.items.length} items for limit=1`);
  found.push(...page.items.map((item) => item.sku));
  if (page.next_cursor === null) break;
  cursor = page.next_cursor;
}
// Oldest first: the first product, then the second.
expect(found.join() === [sku, secondSku].join(), `listed ${found}`);

step(9, "history");
const entries: HistoryEntry[] = [];
cursor = undefined;
for (let pages = 0; ; pages++) {
  if (pages === 10) fail("next_cursor still set after 10 pages");
  const history = await client.GET("/v1/products/{id}/history", { params: { path: { id: final.id }, query: { cursor } } });
  // Annotated: `cursor` feeds the request and comes from this page, a loop
  // TypeScript's inference cannot close by itself.
  const page: HistoryPage = history.data ?? fail(`expected 200 with a page, got ${history.response.status}: ${JSON.stringify(history.error)}`);
  entries.push(...page.items);
  if (page.next_cursor === null) break;
  cursor = page.next_cursor;
}
// Newest first, as the document says.
const timeline = entries.map((entry) => `${entry.version}:${entry.operation}`).reverse().join();
expect(timeline === "1:create,2:update,3:update,4:stock_adjustment,5:stock_sync", `history ${timeline}`);

step(10, "delete with the version, then read 404");
const deletion = await client.DELETE("/v1/products/{id}", { params: { path: { id: final.id }, query: { version: 5 } } });
expect(deletion.response.status === 204, `delete: expected 204, got ${deletion.response.status}: ${JSON.stringify(deletion.error)}`);
const gone = await client.GET("/v1/products/{id}", { params: { path: { id: final.id } } });
expect(gone.response.status === 404, `read after delete: expected 404, got ${gone.response.status}: ${JSON.stringify(gone.data ?? gone.error)}`);
expect(gone.error?.type === "/problems/not-found", `404 of type ${gone.error?.type}`);

console.log(`${NAME}: ok (${sku}: 10 steps, history versions 1-5, deleted; ${secondSku} left at stock 9)`);
