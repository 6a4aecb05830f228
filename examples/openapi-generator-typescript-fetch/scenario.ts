// The scenario of examples/README.md through the client that openapi-generator's
// `typescript-fetch` writes from openapi.yaml, on Node's own fetch.
//
//   INVENTORY_URL=http://127.0.0.1:8080 INVENTORY_TOKEN=inv_... node build/scenario.js

import { randomBytes, randomUUID } from "node:crypto";
import {
  Configuration,
  CurrencyCode,
  type HistoryPage,
  type Product,
  type ProductPage,
  ProductsApi,
  ResponseError,
  type StaleVersionProblem,
  StaleVersionProblemFromJSON,
  StockApi,
  SyncStatus,
  UpdateConflictProblemFromJSON,
  InsufficientStockProblemFromJSON,
  instanceOfInsufficientStockProblem,
  instanceOfStaleVersionProblem,
} from "./src/generated/index.js";

const NAME = "openapi-generator-typescript-fetch";

function fail(message: string): never {
  console.error(`${NAME}: ${message}`);
  process.exit(1);
}

function expect(condition: boolean, message: string): void {
  if (!condition) fail(message);
}

// A call that must succeed: any error answer is reported with its status and body.
async function ok<T>(step: string, call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (error instanceof ResponseError) {
      fail(`${step}: got ${error.response.status}: ${await error.response.text()}`);
    }
    fail(`${step}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

// A call that must be refused with `status`: the generated client throws a
// ResponseError for every non-2xx answer without reading its body, so the
// problem document is read here and handed back as JSON for the typed decoders.
async function refused(step: string, call: Promise<unknown>, status: number): Promise<unknown> {
  try {
    const value = await call;
    fail(`${step}: expected ${status}, got a success: ${JSON.stringify(value)}`);
  } catch (error) {
    if (!(error instanceof ResponseError)) {
      fail(`${step}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const body = await error.response.text();
    if (error.response.status !== status) fail(`${step}: expected ${status}, got ${error.response.status}: ${body}`);
    if (body === "") return null;
    try {
      return JSON.parse(body);
    } catch {
      fail(`${step}: the ${status} body is not JSON: ${body}`);
    }
  }
}

const show = (value: unknown) => JSON.stringify(value);

const basePath = (process.env.INVENTORY_URL ?? fail("set INVENTORY_URL, e.g. http://127.0.0.1:8080")).replace(/\/+$/, "");
const accessToken = process.env.INVENTORY_TOKEN ?? fail("set INVENTORY_TOKEN to a manager token");
const config = new Configuration({ basePath, accessToken });
const products = new ProductsApi(config);
const stock = new StockApi(config);

// A random part in every SKU, so that repeated runs and other clients' runs on
// the same server never clash, and step 8 can list exactly this run's products.
const tag = randomBytes(6).toString("hex").toUpperCase();
const sku = `EX-TSF-${tag}`;
const secondSku = `EX-TSF-${tag}-B`;

// 1. Create, read back: version 1.
const created = await ok(
  "step 1 create",
  products.createProductRaw({
    createProductRequest: { sku, name: "Blue mug", priceMinor: 1250, currency: CurrencyCode.Eur, stock: 40 },
  }),
);
expect(created.raw.status === 201, `step 1 create: answered ${created.raw.status}, not 201`);
const createdProduct = await created.value();
const id = createdProduct.id;
const read1 = await ok("step 1 read", products.readProduct({ id }));
expect(read1.sku === sku && read1.version === 1 && read1.stock === 40, `step 1 read: ${show(read1)}`);

// 2. Update with the version just read: version 2.
const updated = await ok(
  "step 2 update",
  products.updateProduct({ id, updateProductRequest: { version: read1.version, priceMinor: 1300 } }),
);
expect(updated.version === 2 && updated.priceMinor === 1300, `step 2 update: ${show(updated)}`);

// 3. A stale write (still version 1): the 409 decodes into the typed
// StaleVersionProblem, and the retry with its current_version is applied.
const conflictJson = await refused(
  "step 3 stale update",
  products.updateProduct({ id, updateProductRequest: { version: 1, name: "Blue mug, large" } }),
  409,
);
const conflict = UpdateConflictProblemFromJSON(conflictJson);
if (conflict.type !== "/problems/stale-version") fail(`step 3 stale update: 409 is not stale-version: ${show(conflictJson)}`);
const stale: StaleVersionProblem = conflict;
expect(
  stale.yourVersion === 1 && stale.currentVersion === 2 && stale.current.version === 2 && stale.rebaseSafe,
  `step 3 stale update: decoded 409 ${show(stale)}`,
);
expect(stale.changesSince.map((entry) => entry.version).join() === "2", `step 3: changes_since ${show(stale.changesSince)}`);
const retried = await ok(
  "step 3 retry",
  products.updateProduct({ id, updateProductRequest: { version: stale.currentVersion, name: "Blue mug, large" } }),
);
expect(retried.version === 3 && retried.name === "Blue mug, large", `step 3 retry: ${show(retried)}`);

// 4. A PATCH whose If-Match names a stale version, with no version in the body: 412.
const preconditionJson = await refused(
  "step 4 stale If-Match",
  products.updateProduct({ id, ifMatch: '"1"', updateProductRequest: { priceMinor: 1400 } }),
  412,
);
if (preconditionJson === null || typeof preconditionJson !== "object" || !instanceOfStaleVersionProblem(preconditionJson)) {
  fail(`step 4 stale If-Match: 412 body is not a stale-version problem: ${show(preconditionJson)}`);
}
const precondition = StaleVersionProblemFromJSON(preconditionJson);
expect(precondition.currentVersion === 3, `step 4 stale If-Match: decoded 412 ${show(precondition)}`);

// 5. One adjustment sent twice with the same Idempotency-Key: the second answer
// is the first replayed, and the stock moved once. The *Raw methods keep the
// response, whose headers the plain methods drop.
const key = `ex-tsf-${randomUUID()}`;
const adjust = () =>
  stock.adjustStockRaw({ id, idempotencyKey: key, stockAdjustmentRequest: { delta: -3, reason: "sale #1042" } });
const first = await ok("step 5 adjust", adjust());
const applied = await first.value();
expect(applied.stock === 37 && applied.version === 4, `step 5 adjust: ${show(applied)}`);
expect(first.raw.headers.get("Idempotent-Replayed") === null, "step 5 adjust: the first answer claims to be a replay");
const second = await ok("step 5 replay", adjust());
const replayed = await second.value();
expect(
  second.raw.headers.get("Idempotent-Replayed") === "true",
  `step 5 replay: Idempotent-Replayed is ${second.raw.headers.get("Idempotent-Replayed")}`,
);
expect(show(replayed) === show(applied), `step 5 replay: body ${show(replayed)} differs from ${show(applied)}`);
const read5 = await ok("step 5 read", products.readProduct({ id }));
expect(read5.stock === 37 && read5.version === 4, `step 5 read: applied twice? ${show(read5)}`);

// 6. An adjustment that would take the stock below zero: 409 insufficient-stock,
// stock unchanged.
const shortJson = await refused(
  "step 6 oversell",
  stock.adjustStock({ id, stockAdjustmentRequest: { delta: -1000, reason: "oversell" } }),
  409,
);
if (shortJson === null || typeof shortJson !== "object" || !instanceOfInsufficientStockProblem(shortJson)) {
  fail(`step 6 oversell: 409 is not insufficient-stock: ${show(shortJson)}`);
}
const short = InsufficientStockProblemFromJSON(shortJson);
expect(short.currentStock === 37, `step 6 oversell: decoded 409 ${show(short)}`);
const read6 = await ok("step 6 read", products.readProduct({ id }));
expect(read6.stock === 37 && read6.version === 4, `step 6 read: ${show(read6)}`);

// 7. A second product, then one sync: a versioned count for the first, a forced
// one for the second.
const other = await ok(
  "step 7 create second",
  products.createProduct({
    createProductRequest: { sku: secondSku, name: "Red mug", priceMinor: 1250, currency: CurrencyCode.Eur, stock: 5 },
  }),
);
const outcome = await ok(
  "step 7 sync",
  stock.syncStock({
    stockSyncRequest: {
      items: [
        { sku, stock: 30, expectedVersion: 4 },
        { sku: secondSku, stock: 9, force: true },
      ],
    },
  }),
);
const [r1, r2] = outcome.results;
expect(
  outcome.results.length === 2 &&
    r1?.sku === sku && r1.status === SyncStatus.Updated && r1.version === 5 && r1.stock === 30 &&
    r2?.sku === secondSku && r2.status === SyncStatus.Updated && r2.stock === 9 &&
    outcome.summary.updated === 2 && outcome.summary.conflict === 0 && outcome.summary.notFound === 0,
  `step 7 sync: ${show(outcome)}`,
);
const read7a = await ok("step 7 read first", products.readProduct({ id }));
expect(read7a.stock === 30 && read7a.version === 5, `step 7 read first: ${show(read7a)}`);
const read7b = await ok("step 7 read second", products.readProduct({ id: other.id }));
expect(read7b.stock === 9, `step 7 read second: ${show(read7b)}`);

// 8. This run's products, one per page, following next_cursor until it is null.
const listed: Product[] = [];
let cursor: string | undefined;
for (let page = 1; ; page++) {
  if (page > 10) fail(`step 8 list: still paging after ${page - 1} pages: ${show(listed.map((p) => p.sku))}`);
  const result: ProductPage = await ok(`step 8 list page ${page}`, products.listProducts({ q: tag, limit: 1, cursor }));
  expect(result.items.length <= 1, `step 8 list: page ${page} holds ${result.items.length} items`);
  listed.push(...result.items);
  if (result.nextCursor === null) break;
  cursor = result.nextCursor;
}
const skus = listed.map((p) => p.sku).sort();
expect(show(skus) === show([sku, secondSku].sort()), `step 8 list: found ${show(skus)}`);

// 9. The first product's history: versions 1 to 5 (pages are newest first).
const versions: number[] = [];
cursor = undefined;
for (let page = 1; ; page++) {
  if (page > 10) fail(`step 9 history: still paging after ${page - 1} pages`);
  const result: HistoryPage = await ok(`step 9 history page ${page}`, products.productHistory({ id, cursor }));
  versions.push(...result.items.map((entry) => entry.version));
  if (result.nextCursor === null) break;
  cursor = result.nextCursor;
}
expect(show(versions.reverse()) === show([1, 2, 3, 4, 5]), `step 9 history: versions ${show(versions)}`);

// 10. Delete with the version read, then the product is gone.
const deleted = await ok("step 10 delete", products.deleteProductRaw({ id, version: 5 }));
expect(deleted.raw.status === 204, `step 10 delete: answered ${deleted.raw.status}, not 204`);
await refused("step 10 read deleted", products.readProduct({ id }), 404);

console.log(`${NAME}: ok (${sku}, ${secondSku})`);
