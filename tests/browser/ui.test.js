// The store-manager page in real Chromium (Debian's, driven by
// playwright-core), against a live server: .ci/browser starts it and passes
// INVENTORY_URL and two manager tokens, ALICE_TOKEN and BOB_TOKEN (their
// names are the actors the page shows).

import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const base = process.env.INVENTORY_URL;
const tokens = { alice: process.env.ALICE_TOKEN, bob: process.env.BOB_TOKEN };
const docs = fileURLToPath(new URL("../../docs/", import.meta.url));
const TIMEOUT = 10_000;

let browser;

before(async () => {
  assert.ok(base && tokens.alice && tokens.bob, "set INVENTORY_URL, ALICE_TOKEN and BOB_TOKEN");
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
  assert.deepEqual((await cells(row)).slice(0, 5), [sku, "Blue mug", "€12.50", "40", "1"]);

  await row.getByRole("button", { name: `Edit Blue mug (${sku})` }).click();
  const edit = page.getByRole("dialog", { name: "Edit Blue mug" });
  await edit.getByLabel("Name").fill("Blue mug, large");
  await edit.getByLabel("Price").fill("13.00");
  await edit.getByRole("button", { name: "Save" }).click();
  await edit.waitFor({ state: "hidden" });
  row = page.locator("#products tbody tr", { hasText: "Blue mug, large" });
  await row.waitFor();
  assert.deepEqual((await cells(row)).slice(0, 5), [sku, "Blue mug, large", "€13.00", "40", "2"]);

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
  assert.deepEqual((await cells(bobRow)).slice(2, 5), ["€25.00", "5", "3"]);
  // Alice's table follows live, with no reload.
  const aliceRow = alice.locator(`#products tr[data-id="${product.id}"]`);
  await aliceRow.locator("td", { hasText: "€25.00" }).waitFor();
  assert.deepEqual((await cells(aliceRow)).slice(2, 5), ["€25.00", "5", "3"]);

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
  assert.equal(await message.textContent(), "The product has 2 in stock; adding -5 would take it below 0. Nothing was applied.");
  assert.deepEqual((await cells(row)).slice(3, 5), ["2", "1"]);
  await page.context().close();
});
