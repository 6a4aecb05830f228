// The store-manager page in real Chromium (Debian's, driven by
// playwright-core), against a live server: .ci/browser starts it and passes
// INVENTORY_URL, two manager tokens, ALICE_TOKEN and BOB_TOKEN (their
// names are the actors the page shows), and an admin token, ADMIN_TOKEN
// (carol), for webhooks.

import assert from "node:assert/strict";
import { mkdir, readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const base = process.env.INVENTORY_URL;
const tokens = { alice: process.env.ALICE_TOKEN, bob: process.env.BOB_TOKEN, carol: process.env.ADMIN_TOKEN };
const docs = fileURLToPath(new URL("../../docs/", import.meta.url));
const TIMEOUT = 10_000;

let browser;

before(async () => {
  assert.ok(base && tokens.alice && tokens.bob && tokens.carol, "set INVENTORY_URL, ALICE_TOKEN, BOB_TOKEN and ADMIN_TOKEN");
  await mkdir(docs, { recursive: true });
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    // Root in CI has no sandbox; this machine's closed network refuses
    // Chromium's background connections, so they are turned off.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
});

const unique = (prefix) => `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`.toUpperCase();

/** A product made through the API, as another client would. */
async function createProduct(fields) {
  const response = await fetch(`${base}/v1/products`, {
    method: "POST",
    headers: { Authorization: `Bearer ${tokens.alice}`, "Content-Type": "application/json" },
    body: JSON.stringify({ currency: "EUR", price_minor: 1250, stock: 5, ...fields }),
  });
  assert.equal(response.status, 201);
  return response.json();
}

/** A request as another client would send it: { status, body }. */
async function call(method, path, { body, who = "alice" } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      Authorization: `Bearer ${tokens[who]}`,
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

async function createLocation(code, name) {
  const { status, body } = await call("POST", "/v1/locations", { body: { code, name } });
  assert.equal(status, 201);
  return body;
}

/** The product's levels through the API, by location code. */
async function levelsOf(product) {
  const { status, body } = await call("GET", `/v1/products/${product.id}/levels`);
  assert.equal(status, 200);
  return Object.fromEntries(body.items.map((level) => [level.location, level]));
}

async function signedIn(who, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("pageerror", (error) => assert.fail(`page error: ${error.message}`));
  await page.goto(base);
  await page.getByLabel("API token").fill(tokens[who]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Products" }).waitFor();
  await page.locator("#live-status", { hasText: "Live" }).waitFor();
  return page;
}

/** The table row of a product, found by SKU (searching for it first). */
async function rowOf(page, sku) {
  await page.getByLabel("Search").fill(sku);
  await page.getByRole("button", { name: "Search", exact: true }).click();
  const row = page.locator("#products tbody tr", { hasText: sku });
  await row.waitFor();
  return row;
}

const cells = async (row) => (await row.locator("td").allTextContents()).map((text) => text.trim());

/** The table's columns, counted from 1 as td:nth-child counts them. */
const COLUMN = { stock: 4, reserved: 5, available: 6, version: 7 };

/** One cell of a product's row, to wait for its value. */
const column = (row, name) => row.locator(`td:nth-child(${COLUMN[name]})`);

test("sign in, create a product, edit it, see its history", async () => {
  const page = await signedIn("alice");
  const sku = unique("UI-MUG");
  await page.getByRole("button", { name: "New product" }).click();
  const editor = page.getByRole("dialog", { name: "New product" });
  await editor.getByLabel("SKU").fill(sku);
  await editor.getByLabel("Name").fill("Blue mug");
  await editor.getByLabel("Price").fill("12.50");
  await editor.getByLabel("Currency").fill("EUR");
  await editor.getByLabel("Stock").fill("40");
  await editor.getByRole("button", { name: "Save" }).click();
  await editor.waitFor({ state: "hidden" });

  let row = await rowOf(page, sku);
  assert.deepEqual((await cells(row)).slice(0, 7), [sku, "Blue mug", "€12.50", "40", "0", "40", "1"]);

  await row.getByRole("button", { name: `Edit Blue mug (${sku})` }).click();
  const edit = page.getByRole("dialog", { name: "Edit Blue mug" });
  await edit.getByLabel("Name").fill("Blue mug, large");
  await edit.getByLabel("Price").fill("13.00");
  await edit.getByRole("button", { name: "Save" }).click();
  await edit.waitFor({ state: "hidden" });
  row = page.locator("#products tbody tr", { hasText: "Blue mug, large" });
  await row.waitFor();
  assert.deepEqual((await cells(row)).slice(0, 7), [sku, "Blue mug, large", "€13.00", "40", "0", "40", "2"]);

  await row.getByRole("button", { name: /^History/ }).click();
  const history = page.getByRole("dialog", { name: "History of Blue mug, large" });
  await history.locator("li").nth(1).waitFor();
  const entries = await history.locator("li").allTextContents();
  assert.match(entries[0], /^Version 2: update by alice/);
  assert.match(entries[0], /Price €12\.50 → €13\.00/);
  assert.match(entries[1], /^Version 1: create by alice/);
  await history.getByRole("button", { name: "Close" }).click();
  await page.context().close();
});

test("a refused save shows each error beside its field", async () => {
  const page = await signedIn("alice");
  await page.getByRole("button", { name: "New product" }).click();
  const editor = page.getByRole("dialog", { name: "New product" });
  await editor.getByLabel("SKU").fill("-bad sku");
  await editor.getByLabel("Name").fill("Odd mug");
  await editor.getByLabel("Price").fill("1.00");
  await editor.getByLabel("Currency").fill("XYZ");
  await editor.getByRole("button", { name: "Save" }).click();
  await page.locator("#edit-currency-error", { hasText: "ISO 4217" }).waitFor();
  assert.match(await page.locator("#edit-sku-error").textContent(), /^SKU must start with a letter or digit/);
  assert.equal(await editor.getByLabel("Currency").getAttribute("aria-invalid"), "true");
  assert.equal(await page.locator("#edit-name-error").textContent(), "");
  await editor.getByRole("button", { name: "Cancel" }).click();
  await page.context().close();
});

test("a stale save meets the conflict dialog and applies on top", async () => {
  const sku = unique("UI-CONFLICT");
  const product = await createProduct({ sku, name: "Red mug" });
  const alice = await signedIn("alice");
  const bob = await signedIn("bob");

  // Both open the product at version 1.
  for (const page of [alice, bob]) {
    const row = await rowOf(page, sku);
    await row.getByRole("button", { name: `Edit Red mug (${sku})` }).click();
  }
  const aliceEditor = alice.getByRole("dialog", { name: "Edit Red mug" });
  await aliceEditor.getByLabel("Price").fill("20.00");
  await aliceEditor.getByRole("button", { name: "Save" }).click();
  await aliceEditor.waitFor({ state: "hidden" });

  // Bob's editor hears of it before he saves.
  const bobEditor = bob.getByRole("dialog", { name: "Edit Red mug" });
  await bobEditor.locator("#editor-notice-text", { hasText: "Changed by alice (now version 2)" }).waitFor();
  await bobEditor.getByLabel("Price").fill("25.00");
  await bobEditor.getByRole("button", { name: "Save" }).click();

  const conflict = bob.getByRole("dialog", { name: "This product changed while you were editing" });
  await conflict.waitFor();
  const summary = await conflict.locator("#conflict-summary").textContent();
  assert.equal(summary, "You loaded version 1; alice saved version 2 since.");
  assert.match(await conflict.locator("#conflict-overlap").textContent(), /they also changed Price/);
  const field = (await conflict.locator("#conflict-fields tbody tr").first().locator("th, td").allTextContents());
  assert.deepEqual(field, ["Price", "€20.00", "€25.00"]);
  assert.match(await conflict.locator("#conflict-changes li").first().textContent(), /Version 2, update by alice: Price: €12\.50 → €20\.00/);
  await bob.screenshot({ path: `${docs}ui-conflict.png` });

  await conflict.getByRole("button", { name: "Apply mine on top" }).click();
  await bobEditor.waitFor({ state: "hidden" });
  const bobRow = bob.locator(`#products tr[data-id="${product.id}"]`);
  await bobRow.locator("td", { hasText: "€25.00" }).waitFor();
  assert.deepEqual((await cells(bobRow)).slice(2, 7), ["€25.00", "5", "0", "5", "3"]);
  // Alice's table follows live, with no reload.
  const aliceRow = alice.locator(`#products tr[data-id="${product.id}"]`);
  await aliceRow.locator("td", { hasText: "€25.00" }).waitFor();
  assert.deepEqual((await cells(aliceRow)).slice(2, 7), ["€25.00", "5", "0", "5", "3"]);

  await alice.getByLabel("Search").fill("");
  await alice.getByRole("button", { name: "Search", exact: true }).click();
  await alice.locator("#products tbody tr").first().waitFor();
  await alice.screenshot({ path: `${docs}ui-table.png` });
  await alice.context().close();
  await bob.context().close();
});

test("a stock adjustment below zero shows the server's message", async () => {
  const sku = unique("UI-STOCK");
  await createProduct({ sku, name: "Green mug", stock: 2 });
  const page = await signedIn("alice", { width: 390, height: 844 });
  const row = await rowOf(page, sku);
  await row.getByRole("button", { name: `Adjust stock Green mug (${sku})` }).click();
  const adjuster = page.getByRole("dialog", { name: /^Adjust stock of Green mug/ });
  await adjuster.getByLabel(/^Change/).fill("-5");
  await adjuster.getByLabel("Reason").fill("sale #7");
  await adjuster.getByRole("button", { name: "Apply" }).click();
  const message = adjuster.getByRole("alert");
  await message.filter({ hasText: "below 0" }).waitFor();
  assert.equal(await message.textContent(), "The product has 2 in stock at MAIN; adding -5 would take it below 0. Nothing was applied.");
  assert.deepEqual((await cells(row)).slice(3, 7), ["2", "0", "2", "1"]);
  await page.context().close();
});

/** Each row of the editor's levels: [location, on hand, reserved, available, version], for the locations asked. */
async function editorLevels(editor, codes) {
  const rows = editor.locator("#levels tbody tr");
  await rows.first().waitFor();
  const all = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.cells].slice(0, 5).map((td) => td.textContent)));
  return all.filter(([code]) => codes.includes(code));
}

test("a transfer moves stock between locations: the editor and the table by location show it", async () => {
  const shop = await createLocation(unique("SHOP"), "High Street shop");
  const sku = unique("UI-MOVE");
  const product = await createProduct({ sku, name: "Yellow mug", stock: 10 });
  const page = await signedIn("alice");
  const row = await rowOf(page, sku);

  await row.getByRole("button", { name: `Transfer Yellow mug (${sku})` }).click();
  const transfer = page.getByRole("dialog", { name: /^Transfer Yellow mug/ });
  await transfer.getByLabel("From", { exact: true }).selectOption("MAIN");
  await transfer.getByLabel("To", { exact: true }).selectOption(shop.code);
  await transfer.getByLabel("Quantity").fill("11");
  await transfer.getByLabel("Reason", { exact: true }).fill("restock the shop");
  await transfer.getByLabel("Reference (optional)").fill("TN-1");
  await transfer.getByRole("button", { name: "Transfer", exact: true }).click();
  // More than MAIN holds: the server refuses, and says so in the dialog.
  const alert = transfer.getByRole("alert");
  await alert.filter({ hasText: "below 0" }).waitFor();
  assert.equal(await alert.textContent(), "The product has 10 in stock at MAIN; adding -11 would take it below 0. Nothing was applied.");
  await transfer.getByLabel("Quantity").fill("4");
  await transfer.getByRole("button", { name: "Transfer", exact: true }).click();
  await transfer.waitFor({ state: "hidden" });

  // The total is unchanged; the product moved two versions, one per level.
  await column(row, "version").filter({ hasText: /^3$/ }).waitFor();
  assert.deepEqual((await cells(row)).slice(3, 7), ["10", "0", "10", "3"]);
  const levels = await levelsOf(product);
  assert.deepEqual([levels.MAIN.on_hand, levels[shop.code].on_hand], [6, 4]);

  await row.getByRole("button", { name: `Edit Yellow mug (${sku})` }).click();
  const editor = page.getByRole("dialog", { name: "Edit Yellow mug" });
  assert.deepEqual(await editorLevels(editor, ["MAIN", shop.code]), [
    ["MAIN", "6", "0", "6", String(levels.MAIN.version)],
    [shop.code, "4", "0", "4", "1"],
  ]);
  await page.screenshot({ path: `${docs}ui-levels.png` });
  await editor.getByRole("button", { name: "Cancel" }).click();

  // The table by location: the Stock column is that location's on hand.
  await page.getByLabel("Stock at").selectOption(shop.code);
  await page.locator("#stock-heading", { hasText: `Stock at ${shop.code}` }).waitFor();
  const shopRow = page.locator(`#products tr[data-id="${product.id}"]`);
  await shopRow.waitFor();
  assert.deepEqual((await cells(shopRow)).slice(0, 7), [sku, "Yellow mug", "€12.50", "4", "0", "4", "3"]);

  // An adjustment at the shop, with a reference, shows in that column.
  await shopRow.getByRole("button", { name: `Adjust stock Yellow mug (${sku})` }).click();
  const adjuster = page.getByRole("dialog", { name: /^Adjust stock of Yellow mug/ });
  await adjuster.getByLabel("Location").selectOption(shop.code);
  await adjuster.getByLabel(/^Change/).fill("-1");
  await adjuster.getByLabel("Reason", { exact: true }).fill("sale #12");
  await adjuster.getByLabel("Reference (optional)").fill("R-12");
  await adjuster.getByRole("button", { name: "Apply" }).click();
  await adjuster.waitFor({ state: "hidden" });
  await column(shopRow, "version").filter({ hasText: /^4$/ }).waitFor();
  assert.deepEqual((await cells(shopRow)).slice(3, 7), ["3", "0", "3", "4"]);
  const history = await call("GET", `/v1/products/${product.id}/history?limit=1`);
  assert.deepEqual(history.body.items[0].ledger, {
    location: shop.code, level_version: 2, delta: -1, on_hand: 3, kind: "adjust", reference: "R-12",
  });

  await page.getByLabel("Stock at").selectOption("");
  await page.locator("#stock-heading", { hasText: /^Stock$/ }).waitFor();
  await column(shopRow, "stock").filter({ hasText: /^9$/ }).waitFor();
  assert.deepEqual((await cells(shopRow)).slice(3, 7), ["9", "0", "9", "4"]);
  await page.context().close();
});

test("a stale level write meets the conflict dialog with the other change, and applies on top", async () => {
  const shop = await createLocation(unique("KIOSK"), "Station kiosk");
  const sku = unique("UI-LEVEL");
  const product = await createProduct({ sku, name: "Grey mug", stock: 5 });
  const stocked = await call("PATCH", `/v1/products/${product.id}/levels/${shop.code}`, { body: { on_hand: 3, version: 0 } });
  assert.equal(stocked.status, 200);

  const page = await signedIn("alice");
  const row = await rowOf(page, sku);
  await row.getByRole("button", { name: `Edit Grey mug (${sku})` }).click();
  const editor = page.getByRole("dialog", { name: "Edit Grey mug" });
  assert.deepEqual(await editorLevels(editor, [shop.code]), [[shop.code, "3", "0", "3", "1"]]);

  // Bob sells one at the kiosk after Alice's editor read its level.
  const sale = await call("POST", `/v1/products/${product.id}/stock-adjustments`, {
    body: { delta: -1, reason: "sale #7", location: shop.code },
    who: "bob",
  });
  assert.equal(sale.status, 200);

  await editor.getByRole("button", { name: `Set on hand at ${shop.code}`, exact: true }).click();
  await editor.getByLabel("New on hand").fill("8");
  await editor.getByLabel("Reason (optional)").fill("shelf count");
  await editor.getByRole("button", { name: "Set on hand", exact: true }).click();

  const conflict = page.getByRole("dialog", { name: `The stock at ${shop.code} changed while you were editing` });
  await conflict.waitFor();
  assert.equal(await conflict.locator("#conflict-summary").textContent(),
    `You loaded version 1 of the level at ${shop.code}; bob saved version 2 since.`);
  assert.match(await conflict.locator("#conflict-overlap").textContent(), /they also changed the on hand/);
  assert.deepEqual(await conflict.locator("#conflict-fields tbody tr").first().locator("th, td").allTextContents(), ["On hand", "2", "8"]);
  assert.deepEqual(await conflict.locator("#conflict-changes li").allTextContents(),
    [`Version ${sale.body.version}, stock adjustment by bob: ${shop.code} −1 → 2`]);
  await page.screenshot({ path: `${docs}ui-level-conflict.png` });

  await conflict.getByRole("button", { name: "Apply mine on top" }).click();
  await conflict.waitFor({ state: "hidden" });
  await editor.locator(`#levels tr[data-location="${shop.code}"] td:nth-child(2)`, { hasText: /^8$/ }).waitFor();
  assert.deepEqual(await editorLevels(editor, [shop.code]), [[shop.code, "8", "0", "8", "3"]]);
  const levels = await levelsOf(product);
  assert.deepEqual([levels[shop.code].on_hand, levels[shop.code].version], [8, 3]);
  assert.equal(levels.MAIN.on_hand, 5);
  // The table shows the new total: 5 at MAIN and 8 at the kiosk.
  await column(row, "stock").filter({ hasText: /^13$/ }).waitFor();
  await page.context().close();
});

/** The CSV field as RFC 4180 writes it: what the test expects, made independently of the page. */
const csvField = (value) => (/[",\r\n]/.test(String(value)) ? `"${String(value).replaceAll('"', '""')}"` : String(value));

test("a location's levels download as CSV, every product, fields quoted", async () => {
  const shop = await createLocation(unique("EXPORT"), "Export shop");
  const prefix = unique("UI-CSV");
  const quoted = await createProduct({ sku: `${prefix}-A`, name: 'Mug, "large"', stock: 0 });
  await createProduct({ sku: `${prefix}-B`, name: "Plain mug", stock: 2 });
  assert.equal((await call("PATCH", `/v1/products/${quoted.id}/levels/${shop.code}`, { body: { on_hand: 7, version: 0 } })).status, 200);
  // More products than one page of levels holds (200), so that the export reads several.
  for (let batch = 0; batch < 10; batch += 1) {
    await Promise.all(Array.from({ length: 20 }, (_, index) =>
      createProduct({ sku: `${prefix}-F${batch}-${index}`, name: `Filler ${batch}-${index}` })));
  }

  const page = await signedIn("alice");
  await page.getByLabel("Export the levels at").selectOption(shop.code);
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    page.getByRole("button", { name: "Download CSV" }).click(),
  ]);
  assert.equal(download.suggestedFilename(), `levels-${shop.code}.csv`);
  const text = await readFile(await download.path(), "utf8");

  const lines = text.split("\r\n");
  assert.equal(lines.pop(), "", "every record ends with CRLF");
  assert.equal(lines[0], "sku,name,location,on_hand,version");
  assert.ok(lines.includes(`${prefix}-A,"Mug, ""large""",${shop.code},7,1`), "the quoted name");
  assert.ok(lines.includes(`${prefix}-B,Plain mug,${shop.code},0,0`), "a product never stocked there");
  // Every live product, once, in the API's order.
  const expected = ["sku,name,location,on_hand,version"];
  let cursor = null;
  do {
    const { body } = await call("GET", `/v1/locations/${shop.code}/levels?limit=200${cursor ? `&cursor=${cursor}` : ""}`);
    for (const { product, level } of body.items) expected.push([product.sku, product.name, level.location, level.on_hand, level.version].map(csvField).join(","));
    cursor = body.next_cursor;
  } while (cursor);
  assert.ok(expected.length > 202, `more than a page: ${expected.length}`);
  assert.equal(text, `${expected.join("\r\n")}\r\n`);
  await page.context().close();
});

test("counts from CSV: a dry run shows every row, nothing changes until they are applied", async () => {
  const shop = await createLocation(unique("COUNT"), "Counted shop");
  const prefix = unique("UI-COUNT");
  const a = await createProduct({ sku: `${prefix}-A`, name: "Counted mug", stock: 5 });
  const b = await createProduct({ sku: `${prefix}-B`, name: "Rebased mug", stock: 9 });
  // B was counted an hour ago; a sale of 2 was recorded since.
  const countedAt = new Date(Date.now() - 3_600_000).toISOString();
  const sale = await call("POST", `/v1/products/${b.id}/stock-adjustments`, { body: { delta: -2, reason: "sale #9" } });
  assert.equal(sale.status, 200);
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString();
  const csv = [
    "sku,location,count,counted_at",
    `${prefix}-A,"${shop.code}",4,`,
    `${prefix}-B,,6,${countedAt}`,
    `${prefix}-A,MAIN,3,${monthAgo}`,
    `${prefix}-NONE,MAIN,1,`,
    `${prefix}-A,MAIN,lots,`,
  ].join("\r\n");

  const page = await signedIn("alice");

  // More rows than one stock sync takes: refused before anything is sent.
  const tooMany = ["sku,location,count", ...Array.from({ length: 1001 }, (_, index) => `${prefix}-A,MAIN,${index}`)].join("\n");
  await page.getByLabel("Import counts (CSV)").setInputFiles({ name: "big.csv", mimeType: "text/csv", buffer: Buffer.from(tooMany) });
  await page.locator("#import-error", { hasText: "1001 counts" }).waitFor();
  assert.equal(await page.locator("#import-error").textContent(),
    "The file holds 1001 counts; one import takes at most 1000. Split it into files of 1000 rows or fewer.");

  await page.getByLabel("Import counts (CSV)").setInputFiles({ name: "counts.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  const importer = page.getByRole("dialog", { name: "Counts from counts.csv" });
  await importer.locator("#importer-status", { hasText: /^Dry run, / }).waitFor();
  const rows = async () => importer.locator("#import-results tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [...tr.cells].map((td) => td.textContent)));
  const expected = (statusA) => [
    ["2", `${prefix}-A`, shop.code, "4", statusA, "4", ""],
    ["3", `${prefix}-B`, "MAIN", "6", "rebased", "4", `counted 6 at ${countedAt}; −2 moved there since`],
    ["4", `${prefix}-A`, "MAIN", "3", "error", "", "counted_at must be at most 7 days old; send an older count with expected_version"],
    ["5", `${prefix}-NONE`, "MAIN", "1", "not found", "", "no product has this SKU"],
    ["6", `${prefix}-A`, "MAIN", "lots", "error", "", "count must be a whole number, 0 or more"],
  ];
  assert.deepEqual(await rows(), expected("updated"));
  assert.equal(await importer.locator("#importer-status").textContent(),
    "Dry run, nothing is applied yet: 1 updated, 1 rebased, 1 not found, 2 with errors, left out. Check each row, then apply the counts or cancel.");
  await page.screenshot({ path: `${docs}ui-import.png` });

  // The dry run changed nothing.
  let levelsA = await levelsOf(a);
  assert.deepEqual([levelsA.MAIN.on_hand, levelsA[shop.code].on_hand, levelsA[shop.code].version], [5, 0, 0]);
  assert.equal((await levelsOf(b)).MAIN.on_hand, 7);

  await importer.getByRole("button", { name: "Apply these counts" }).click();
  await importer.locator("#importer-status", { hasText: /^Applied: / }).waitFor();
  assert.equal(await importer.locator("#importer-status").textContent(),
    "Applied: 1 updated, 1 rebased, 1 not found, 2 with errors, left out.");
  assert.deepEqual(await rows(), expected("updated"));
  assert.equal(await importer.getByRole("button", { name: "Apply these counts" }).isHidden(), true);
  await importer.getByRole("button", { name: "Close" }).click();

  levelsA = await levelsOf(a);
  assert.deepEqual([levelsA.MAIN.on_hand, levelsA[shop.code].on_hand, levelsA[shop.code].version], [5, 4, 1]);
  const levelsB = await levelsOf(b);
  assert.deepEqual([levelsB.MAIN.on_hand, levelsB.MAIN.last_counted_at !== null], [4, true]);
  const history = await call("GET", `/v1/products/${b.id}/history?limit=1`);
  assert.equal(history.body.items[0].reason, "CSV import");
  await page.context().close();
});

/** A hold made through the API, as a till or a web shop would make it. */
async function createHold(fields, who = "bob") {
  const { status, body } = await call("POST", "/v1/holds", { body: { expires_in: 3600, ...fields }, who });
  assert.equal(status, 201);
  return body;
}

/** Each row of the editor's holds: [location, quantity, reference]. */
const editorHolds = (editor) => editor.locator("#holds tbody tr").evaluateAll((trs) =>
  trs.map((tr) => [...tr.cells].slice(0, 3).map((td) => td.textContent)));

test("holds show as reserved; one released from the editor frees its stock, one released meanwhile is refused", async () => {
  const sku = unique("UI-HOLD");
  const product = await createProduct({ sku, name: "Teal mug", stock: 5 });
  const first = await createHold({ sku, quantity: 2, reference: "ORDER-1" });
  const second = await createHold({ product_id: product.id, quantity: 1, reference: "ORDER-2" });
  const main = (await levelsOf(product)).MAIN;

  const page = await signedIn("alice");
  const row = await rowOf(page, sku);
  // Holds set stock aside; they are not changes of the product, so its version stays 1.
  assert.deepEqual((await cells(row)).slice(3, 7), ["5", "3", "2", "1"]);

  await row.getByRole("button", { name: `Edit Teal mug (${sku})` }).click();
  const editor = page.getByRole("dialog", { name: "Edit Teal mug" });
  assert.equal(await editor.getByLabel("Reserved", { exact: true }).textContent(), "3");
  assert.equal(await editor.getByLabel("Available", { exact: true }).textContent(), "2");
  assert.deepEqual(await editorLevels(editor, ["MAIN"]), [["MAIN", "5", "3", "2", String(main.version)]]);
  await editor.locator("#holds tbody tr").nth(1).waitFor();
  assert.deepEqual(await editorHolds(editor), [["MAIN", "2", "ORDER-1"], ["MAIN", "1", "ORDER-2"]]);
  const expires = await page.evaluate((at) => new Date(at).toLocaleString(), first.expires_at);
  assert.equal(await editor.locator("#holds tbody tr").first().locator("td").nth(3).textContent(), expires);

  await editor.getByRole("button", { name: "Release ORDER-1 (2 at MAIN)" }).click();
  await editor.locator("#holds tbody tr", { hasText: "ORDER-1" }).waitFor({ state: "detached" });
  assert.deepEqual(await editorHolds(editor), [["MAIN", "1", "ORDER-2"]]);
  await editor.locator('#levels tr[data-location="MAIN"] td:nth-child(3)', { hasText: /^1$/ }).waitFor();
  assert.deepEqual(await editorLevels(editor, ["MAIN"]), [["MAIN", "5", "1", "4", String(main.version)]]);
  await editor.locator("#edit-available", { hasText: /^4$/ }).waitFor();
  await column(row, "reserved").filter({ hasText: /^1$/ }).waitFor();
  assert.deepEqual((await cells(row)).slice(3, 7), ["5", "1", "4", "1"]);
  assert.equal((await call("GET", `/v1/holds/${first.id}`)).body.status, "released");

  // Bob releases ORDER-2 as Alice's release of it is on its way: hers is
  // refused with the server's reason, and the list shows it gone.
  let bobs = null;
  await page.route(`**/v1/holds/${second.id}/release`, async (route) => {
    bobs = await call("POST", `/v1/holds/${second.id}/release`, { body: { version: second.version }, who: "bob" });
    await route.continue();
  });
  await editor.getByRole("button", { name: "Release ORDER-2 (1 at MAIN)" }).click();
  const refusal = editor.locator("#holds-error");
  await refusal.filter({ hasText: /\S/ }).waitFor();
  assert.equal(bobs.status, 200);
  const again = await call("POST", `/v1/holds/${second.id}/release`, { body: { version: second.version } });
  assert.equal(again.status, 409);
  assert.equal(await refusal.textContent(), again.body.detail);
  await editor.locator("#holds-status", { hasText: "No active holds." }).waitFor();
  await column(row, "available").filter({ hasText: /^5$/ }).waitFor();
  assert.deepEqual((await cells(row)).slice(3, 7), ["5", "0", "5", "1"]);
  await editor.getByRole("button", { name: "Cancel" }).click();
  await page.context().close();
});

test("a hold made by another client shows live; a sale below what is held is marked oversold", async () => {
  const sku = unique("UI-LIVE-HOLD");
  const product = await createProduct({ sku, name: "Pink mug", stock: 3 });
  const page = await signedIn("alice");
  const row = await rowOf(page, sku);
  assert.deepEqual((await cells(row)).slice(3, 7), ["3", "0", "3", "1"]);
  await row.getByRole("button", { name: `Edit Pink mug (${sku})` }).click();
  const editor = page.getByRole("dialog", { name: "Edit Pink mug" });
  await editor.locator("#holds-status", { hasText: "No active holds." }).waitFor();

  // Bob's web shop holds 2: Alice's table and editor follow, with no reload.
  await createHold({ sku, quantity: 2, reference: "WEB-7" });
  await editor.locator("#holds tbody tr", { hasText: "WEB-7" }).waitFor();
  assert.deepEqual(await editorHolds(editor), [["MAIN", "2", "WEB-7"]]);
  await column(row, "reserved").filter({ hasText: /^2$/ }).waitFor();
  assert.deepEqual((await cells(row)).slice(3, 7), ["3", "2", "1", "1"]);
  await editor.locator("#edit-available", { hasText: /^1$/ }).waitFor();
  await editor.locator('#levels tr[data-location="MAIN"] td:nth-child(3)', { hasText: /^2$/ }).waitFor();

  // Bob sells 2 over the counter: 1 on hand for 2 held.
  const sale = await call("POST", `/v1/products/${product.id}/stock-adjustments`, {
    body: { delta: -2, reason: "sale #8" },
    who: "bob",
  });
  assert.equal(sale.status, 200);
  const notice = page.locator("#oversold li");
  await notice.waitFor();
  assert.equal(await notice.textContent(),
    `Pink mug (${sku}) is oversold at MAIN: 1 on hand, 2 reserved (available −1); 1 hold is at risk.`);
  await column(row, "available").filter({ hasText: "oversold" }).waitFor();
  assert.deepEqual((await cells(row)).slice(3, 7), ["1", "2", "−1 oversold", "2"]);
  assert.equal(await column(row, "available").getAttribute("class"), "number oversold");
  assert.equal(await editor.getByLabel("Available", { exact: true }).textContent(), "−1 oversold");
  await editor.getByRole("button", { name: "Cancel" }).click();
  await page.getByRole("button", { name: "Dismiss" }).click();
  await page.locator("#oversold").waitFor({ state: "hidden" });
  await page.context().close();
});

/** What `read` answers once it is truthy, asked again every 100 ms for up to `ms`. */
async function until(read, what, ms = TIMEOUT) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (value) return value;
    if (Date.now() > end) assert.fail(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("webhooks: an admin makes a subscription, sees its secret once and its refused deliveries, disables it, meets a stale change, deletes it", async () => {
  const page = await signedIn("carol");
  const section = page.locator("#webhooks-section");
  await section.getByRole("heading", { name: "Webhooks", exact: true }).waitFor();
  const form = section.locator("#webhook-form");

  // Nothing chosen: the page says so before sending. A URL that is not one: the server's 422, beside the field.
  await form.getByLabel("URL").fill("not a url");
  await form.getByRole("button", { name: "Create subscription" }).click();
  assert.equal(await form.locator("#webhook-events-error").textContent(), "Choose at least one event.");
  await form.getByRole("checkbox", { name: /^product:/ }).check();
  await form.getByRole("button", { name: "Create subscription" }).click();
  await form.locator("#webhook-url-error").filter({ hasText: /^URL / }).waitFor();
  assert.equal(await form.getByLabel("URL").getAttribute("aria-invalid"), "true");

  // Port 9 (discard) on this machine: nothing listens, every delivery is refused.
  const url = `http://127.0.0.1:9/hooks/${unique("ui").toLowerCase()}`;
  await form.getByLabel("URL").fill(url);
  await form.getByRole("checkbox", { name: /^level:/ }).check();
  await form.getByRole("button", { name: "Create subscription" }).click();
  const secretBox = section.locator("#webhook-secret");
  await secretBox.waitFor();
  const secret = await secretBox.getByLabel("Signing secret").inputValue();
  assert.match(secret, /^whsec_[A-Za-z0-9+/]+=*$/);
  assert.match(await secretBox.locator("#webhook-secret-help").textContent(), /shown only this once/);
  const listed = await call("GET", "/v1/webhooks", { who: "carol" });
  assert.equal(listed.status, 200);
  const hook = listed.body.items.find((item) => item.url === url);
  assert.ok(hook, "the subscription is listed");
  assert.equal(hook.secret, undefined);
  assert.deepEqual([...hook.events].sort(), ["level", "product"]);
  const row = section.locator(`#webhooks tr[data-id="${hook.id}"]`);
  await row.waitFor();
  assert.deepEqual((await cells(row)).slice(0, 5), [url, hook.events.join(", "), "Yes", "Healthy", String(hook.delivered_through)]);
  assert.equal(await form.getByLabel("URL").inputValue(), "", "the form is ready for the next one");
  await secretBox.getByRole("button", { name: "I have stored it" }).click();
  await secretBox.waitFor({ state: "hidden" });
  assert.equal(await section.locator("#webhook-secret-value").inputValue(), "", "the secret is not kept");

  // A change of stock: the subscription wants it, the receiver refuses it.
  await createProduct({ sku: unique("UI-HOOK"), name: "Hooked mug" });
  const attempts = await until(async () => {
    const { body } = await call("GET", `/v1/webhooks/${hook.id}/deliveries`, { who: "carol" });
    return body.items.length ? body.items : null;
  }, "a delivery attempt");
  const first = attempts.at(-1); // newest first
  assert.deepEqual([first.attempt, first.succeeded, first.status, first.event_type], [1, false, null, "product"]);
  await row.getByRole("button", { name: `Deliveries to ${url}`, exact: true }).click();
  assert.equal(await section.locator("#deliveries-title").textContent(), `Recent deliveries to ${url}`);
  const attempt = section.locator(`#deliveries tr[data-id="${first.id}"]`);
  await attempt.waitFor();
  const at = await page.evaluate((when) => new Date(when).toLocaleString(), first.at);
  assert.deepEqual(await cells(attempt), [at, String(first.event_number), "product", "1", first.error,
    first.latency_ms == null ? "—" : String(first.latency_ms), first.response || "—"]);
  await section.getByRole("button", { name: "Refresh", exact: true }).click();
  await row.locator("td:nth-child(4)", { hasText: /^Failing since / }).waitFor();
  await section.screenshot({ path: `${docs}ui-webhooks.png` });

  await row.getByRole("button", { name: `Disable ${url}`, exact: true }).click();
  await row.locator("td:nth-child(3)", { hasText: /^No$/ }).waitFor();
  assert.deepEqual((await cells(row)).slice(2, 4), ["No", "Disabled"]);
  assert.equal(await section.locator("#webhooks-status").textContent(), `Disabled the subscription to ${url}.`);
  const disabled = (await call("GET", `/v1/webhooks/${hook.id}`, { who: "carol" })).body;
  assert.equal(disabled.enabled, false);

  // Another admin enables it meanwhile: the page's Enable names the version it
  // read, is refused, and the page shows the subscription as it is now.
  const theirs = await call("PATCH", `/v1/webhooks/${hook.id}`, { body: { enabled: true, version: disabled.version }, who: "carol" });
  assert.equal(theirs.status, 200);
  await row.getByRole("button", { name: `Enable ${url}`, exact: true }).click();
  const alert = section.locator("#webhooks-error");
  await alert.filter({ hasText: "Someone changed" }).waitFor();
  assert.equal(await alert.textContent(), `Someone changed the subscription to ${url} since this page read it ` +
    `(version ${disabled.version}, now ${theirs.body.version}). Nothing was changed: it is shown as it is now; check it and try again.`);
  await row.locator("td:nth-child(3)", { hasText: /^Yes$/ }).waitFor();
  await row.getByRole("button", { name: `Disable ${url}`, exact: true }).click();
  await row.locator("td:nth-child(3)", { hasText: /^No$/ }).waitFor();

  // A new secret, shown once; the previous one signs too for a while.
  await row.getByRole("button", { name: `Rotate the secret of ${url}`, exact: true }).click();
  await secretBox.waitFor();
  const rotated = await secretBox.getByLabel("Signing secret").inputValue();
  assert.match(rotated, /^whsec_/);
  assert.notEqual(rotated, secret);
  assert.match(await secretBox.locator("#webhook-secret-help").textContent(), /The previous secret also signs until /);
  await secretBox.getByRole("button", { name: "I have stored it" }).click();
  await row.locator("td:nth-child(4)", { hasText: "The previous secret also signs until" }).waitFor();

  // Redeliver: a number past what it may ask is the server's 422, beside the field.
  const now = (await call("GET", `/v1/webhooks/${hook.id}`, { who: "carol" })).body;
  await row.getByRole("button", { name: `Redeliver to ${url}`, exact: true }).click();
  const redeliver = page.getByRole("dialog", { name: `Redeliver to ${url}` });
  await redeliver.getByLabel("From event number").fill(String(now.delivered_through + 2));
  await redeliver.getByRole("button", { name: "Redeliver", exact: true }).click();
  await redeliver.locator("#redeliver-from-error").filter({ hasText: /^From / }).waitFor();
  await redeliver.getByLabel("From event number").fill(String(now.delivered_through + 1));
  await redeliver.getByRole("button", { name: "Redeliver", exact: true }).click();
  await redeliver.waitFor({ state: "hidden" });
  assert.equal(await section.locator("#webhooks-status").textContent(),
    `Redelivering to ${url} from event ${now.delivered_through + 1}.`);

  await row.getByRole("button", { name: `Delete ${url}`, exact: true }).click();
  const deleter = page.getByRole("dialog", { name: "Delete subscription?" });
  await deleter.getByRole("button", { name: "Delete", exact: true }).click();
  await row.waitFor({ state: "detached" });
  assert.equal(await section.locator("#deliveries-section").isHidden(), true);
  assert.equal((await call("GET", `/v1/webhooks/${hook.id}`, { who: "carol" })).status, 404);
  await page.context().close();
});

test("a manager's page says webhooks need an admin token", async () => {
  const page = await signedIn("alice");
  await page.locator("#webhooks-status", { hasText: "Webhooks need an admin token." }).waitFor();
  assert.equal(await page.locator("#webhooks-admin").isHidden(), true);
  assert.equal(await page.locator("#webhooks-error").textContent(), "");
  await page.context().close();
});
