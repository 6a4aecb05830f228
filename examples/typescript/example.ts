// The inventory API through openapi-fetch, typed by openapi-typescript from
// openapi.yaml. Creates a product, updates it, meets a stale write and
// retries it with the version the 409 names, then sends one stock adjustment
// twice with the same Idempotency-Key and checks it was applied once.
//
//   INVENTORY_URL=http://127.0.0.1:8080 INVENTORY_TOKEN=inv_... node build/example.js

import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Product = components["schemas"]["Product"];
type Problem = components["schemas"]["Problem"];
type StaleVersionProblem = components["schemas"]["StaleVersionProblem"];
type ProductChange = Omit<components["schemas"]["UpdateProductRequest"], "version">;

function fail(message: string): never {
  console.error(`typescript example: ${message}`);
  process.exit(1);
}

function expect(condition: boolean, message: string): void {
  if (!condition) fail(message);
}

// openapi-fetch types `error` as the union of every error body of the
// operation, whatever the status; that union holds the plain Problem, whose
// `type` is any string, so TypeScript cannot narrow it by `type`: this guard does.
function isStaleVersion(problem: Problem): problem is StaleVersionProblem {
  return problem.type === "/problems/stale-version";
}

const baseUrl = process.env.INVENTORY_URL ?? fail("set INVENTORY_URL, e.g. http://127.0.0.1:8080");
const token = process.env.INVENTORY_TOKEN ?? fail("set INVENTORY_TOKEN to an API token");
const client = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

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

// Create: version 1. A random SKU, as SKUs are unique among live products.
const sku = `EXAMPLE-TS-${randomUUID().replaceAll("-", "").slice(0, 12).toUpperCase()}`;
const create = await client.POST("/v1/products", {
  body: { sku, name: "Blue mug", price_minor: 1250, currency: "EUR", stock: 40 },
});
const created = create.data ?? fail(`create: got ${create.response.status}: ${JSON.stringify(create.error)}`);
expect(create.response.status === 201, `create answered ${create.response.status}`);
expect(created.sku === sku && created.version === 1 && created.stock === 40, `created ${JSON.stringify(created)}`);

// Update with the version just read: version 2.
const update = await client.PATCH("/v1/products/{id}", {
  params: { path: { id: created.id } },
  body: { version: created.version, price_minor: 1300 },
});
const updated = update.data ?? fail(`update: got ${update.response.status}: ${JSON.stringify(update.error)}`);
expect(updated.version === 2 && updated.price_minor === 1300, `updated ${JSON.stringify(updated)}`);

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

// One sale of 3, sent twice with the same key as after a lost answer:
// the second gets the first answer back and is not applied again.
const key = `example-ts-sale-${randomUUID()}`;
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

const read = await client.GET("/v1/products/{id}", { params: { path: { id: final.id } } });
const now = read.data ?? fail(`read: got ${read.response.status}: ${JSON.stringify(read.error)}`);
expect(now.stock === 37 && now.version === 4, `after the replay the product is ${JSON.stringify(now)}: applied twice?`);

console.log(`typescript example: ${sku} created, updated, stale write retried, stock adjusted once (stock ${now.stock})`);
