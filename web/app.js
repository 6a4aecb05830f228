// The store-manager page: products with search and pages (all of them, or
// one location's stock), create, edit, stock adjustments, transfers,
// delete and history, and what holds reserve; and, for admins, webhook
// subscriptions. Every edit sends the version it was loaded with; a
// stale-version 409 opens a dialog built from the 409 alone. Live changes
// from others update the table as they are committed.

import { api, ProblemError, session } from "./api.js";
import { openConflict, wireConflict, writersOf } from "./conflict.js";
import { wireCounts } from "./counts.js";
import { $, button, cell, optional } from "./dom.js";
import { clearErrors, FIELD_LABELS, showErrors } from "./forms.js";
import { count, hideHolds, refreshHolds, reservedCells, showAvailable, showHolds, showOversold, wireHolds } from "./holds.js";
import { hideLevels, openTransfer, refreshLevels, showLevels, wireLevels } from "./levels.js";
import { followChanges } from "./live.js";
import { fillLocations, loadLocations, MAIN, sameCode } from "./locations.js";
import { formatPrice, parsePrice, priceInput } from "./money.js";
import { showWebhooks, wireWebhooks } from "./webhooks.js";

const state = {
  text: "",
  location: "", // the location whose stock the table shows; "" for all
  levels: new Map(), // id -> level at `location`, the page shown
  loads: 0, // page reads started: a slower, older one is not shown
  cursors: [null], // the cursor of each page visited, for "first page"
  nextCursor: null,
  products: new Map(), // id -> product, the page shown
  editing: null, // { product, change } while the editor is open
  rereads: new Map(), // product id -> the number of its latest read after a hold, so an older answer is dropped
  stopLive: null,
};

// ---- Signing in -------------------------------------------------------

async function signIn(token) {
  session.signIn(token);
  try {
    await loadPage(null);
    await loadLocations();
  } catch (error) {
    session.signOut();
    throw error;
  }
  fillLocations($("location-filter"), { all: true });
  fillLocations($("export-location"));
  $("sign-in-section").hidden = true;
  $("products-section").hidden = false;
  $("files-section").hidden = false;
  $("signed-in").hidden = false;
  showWebhooks(); // its own errors, a 403 included, are shown in its section
  state.stopLive = followChanges({
    onChange: applyChange,
    onHold: holdChanged,
    onOversold: (event) => showOversold(event, productName(event)),
    onStatus: (text) => ($("live-status").textContent = text),
    onResync: () => loadPage(null),
  });
  $("search-text").focus();
}

function signOut() {
  state.stopLive?.();
  session.signOut();
  location.reload();
}

// ---- The table --------------------------------------------------------

async function loadPage(cursor) {
  const asked = ++state.loads;
  const page = state.location ? await locationPage(cursor) : await api.list({ text: state.text, cursor });
  if (asked !== state.loads) return;
  state.products = new Map(page.items.map((product) => [product.id, product]));
  state.levels = page.levels ?? new Map();
  state.nextCursor = page.next_cursor;
  renderTable();
}

/** A page of the location's levels, each with its product. */
async function locationPage(cursor) {
  const page = await api.locationLevels(state.location, { text: state.text, cursor, limit: 20 });
  return {
    items: page.items.map((item) => item.product),
    levels: new Map(page.items.map((item) => [item.product.id, item.level])),
    next_cursor: page.next_cursor,
  };
}

function actionButton(label, product, action) {
  return button(label, `${label} ${product.name} (${product.sku})`, () => action(state.products.get(product.id) ?? product));
}

/** The Stock, Reserved and Available columns: the product's totals, or its level at the location shown. */
function stockCells(product) {
  const stock = state.location ? state.levels.get(product.id) : product;
  const onHand = state.location ? stock?.on_hand : product.stock;
  return [cell(String(onHand ?? "—"), "number"), ...reservedCells(stock)];
}

function row(product) {
  const tr = document.createElement("tr");
  tr.dataset.id = product.id;
  tr.append(
    cell(product.sku),
    cell(product.name),
    cell(formatPrice(product.price_minor, product.currency), "number"),
    ...stockCells(product),
    cell(String(product.version), "number"),
  );
  const actions = cell("", "actions");
  actions.append(
    actionButton("Edit", product, openEditor),
    actionButton("Adjust stock", product, openAdjuster),
    actionButton("Transfer", product, openTransfer),
    actionButton("History", product, openHistory),
    actionButton("Delete", product, openDeleter),
  );
  tr.append(actions);
  return tr;
}

function renderTable() {
  const body = $("products").tBodies[0];
  body.replaceChildren(...[...state.products.values()].map(row));
  if (state.products.size === 0) {
    const empty = document.createElement("tr");
    const td = cell(state.text ? "No product matches." : "No products yet.");
    td.colSpan = 8;
    empty.append(td);
    body.append(empty);
  }
  $("stock-heading").textContent = state.location ? `Stock at ${state.location}` : "Stock";
  $("next-page").disabled = !state.nextCursor;
  $("first-page").disabled = state.cursors.length <= 1;
}

function replaceRow(product) {
  state.products.set(product.id, product);
  const old = document.querySelector(`#products tr[data-id="${product.id}"]`);
  const fresh = row(product);
  fresh.classList.add("changed");
  if (old) old.replaceWith(fresh);
}

/** Keeps a newer level of the location shown; true when it changes the row. */
function noteLevel(id, level) {
  if (!level || !state.location || !sameCode(level.location, state.location)) return false;
  const known = state.levels.get(id);
  if (known && known.version >= level.version) return false;
  state.levels.set(id, level);
  return true;
}

/** The level a change left, from its ledger line (none before levels existed). */
function ledgerLevel(id, ledger) {
  if (ledger?.level_version == null) return null;
  // The ledger says nothing of holds: the level keeps the reserved last read.
  const reserved = state.levels.get(id)?.reserved ?? 0;
  return {
    location: ledger.location,
    on_hand: ledger.on_hand,
    reserved,
    available: ledger.on_hand - reserved,
    version: ledger.level_version,
  };
}

/** A change from the live feed: someone (maybe this page) committed it. */
function applyChange(change) {
  const shown = state.products.get(change.id);
  if (change.operation === "delete") {
    if (shown) {
      state.products.delete(change.id);
      renderTable();
    }
  } else if (shown) {
    // A transfer is two changes; the product the first carries may already
    // be the second's, so its level is followed by the level's own version.
    const newer = change.product.version > shown.version;
    const moved = noteLevel(change.id, ledgerLevel(change.id, change.ledger));
    if (newer || moved) replaceRow(newer ? change.product : shown);
  } else if (change.operation === "create" && state.cursors.length === 1 && !state.text && !state.location) {
    // Not in a location's view: its page reads each product listed, too
    // much to repeat on every create; a search shows the new ones.
    loadPage(null).catch(showFailure);
  }
  const editing = state.editing;
  if (editing?.product.id === change.id && change.operation !== "delete") showReserved(change.product);
  if (editing?.product.id === change.id && change.version > editing.product.version) {
    const what = change.operation === "delete" ? "deleted" : "changed";
    $("editor-notice-text").textContent = `${what === "deleted" ? "Deleted" : "Changed"} by ${change.actor} (now version ${change.version}). Reload to see their change, or save to compare yours with it.`;
    $("editor-notice").hidden = false;
    $("editor-reload").hidden = change.operation === "delete";
    editing.latest = change.product;
  }
}

/** A stock write of this page was answered: show the product and its levels. */
function stockWritten(product, levels) {
  for (const level of levels) noteLevel(product.id, level);
  const shown = state.products.get(product.id);
  if (shown) replaceRow(product.version >= shown.version ? product : shown);
  const editing = state.editing;
  if (editing?.product.id === product.id) showReserved(product);
  if (editing?.product.id === product.id && product.version === editing.product.version + 1) {
    // Only this write moved the product since the editor loaded it: edit on
    // top of it, or saving would meet this page's own write as a conflict.
    editing.product = product;
    $("edit-stock").value = String(product.stock);
    if (!editing.latest || editing.latest.version <= product.version) $("editor-notice").hidden = true;
  }
}

/** The product an event names, as the page names it: by name when it is on the page. */
function productName({ product_id: id, sku }) {
  const product = state.products.get(id) ?? (state.editing?.product.id === id ? state.editing.product : null);
  return product ? `${product.name} (${product.sku})` : sku;
}

// ---- Holds --------------------------------------------------------------

/** A hold was made, changed, committed, released or expired, here or elsewhere. */
function holdChanged(hold) {
  holdCounted(hold);
  refreshHolds(hold.product_id).catch(showFailure);
}

/**
 * Reads the hold's product again, where the page shows it: holds move its
 * reserved and available but not its version, so no event carries them.
 */
function holdCounted(hold) {
  const id = hold.product_id;
  const editing = state.editing?.product.id === id;
  // A location's view shows that location's counts only.
  const listed = state.products.has(id) && (!state.location || sameCode(hold.location, state.location));
  if (editing) refreshLevels(id).catch(showFailure);
  if (listed || editing) rereadProduct(id, hold.location).catch(showFailure);
}

async function rereadProduct(id, code) {
  const asked = (state.rereads.get(id) ?? 0) + 1;
  state.rereads.set(id, asked);
  let product, level;
  try {
    product = await api.read(id);
    // A location's view shows the level's counts, not the product's.
    if (state.location && sameCode(code, state.location)) {
      const { items } = await api.productLevels(id);
      level = items.find((item) => sameCode(item.location, state.location));
    }
  } catch (error) {
    if (error instanceof ProblemError && error.status === 404) return; // deleted meanwhile: its own event says so
    throw error;
  }
  if (state.rereads.get(id) !== asked) return; // a later read answers for it
  const known = state.levels.get(id);
  if (level && (!known || level.version >= known.version)) state.levels.set(id, level);
  const shown = state.products.get(id);
  if (shown && product.version >= shown.version) replaceRow(product);
  if (state.editing?.product.id === id) showReserved(product);
}

function showFailure(error) {
  $("live-status").textContent = error instanceof ProblemError ? error.message : "The server could not be reached.";
}

// ---- Create and edit --------------------------------------------------

function openEditor(product) {
  const form = $("editor-form");
  clearErrors(form);
  $("editor-notice").hidden = true;
  state.editing = product ? { product, change: null } : null;
  $("editor-title").textContent = product ? `Edit ${product.name}` : "New product";
  $("edit-sku").value = product?.sku ?? "";
  $("edit-name").value = product?.name ?? "";
  $("edit-description").value = product?.description ?? "";
  $("edit-currency").value = product?.currency ?? "EUR";
  $("edit-price").value = product ? priceInput(product.price_minor, product.currency) : "";
  $("edit-stock").value = String(product?.stock ?? 0);
  showReserved(product);
  $("editor").showModal();
  if (product) {
    showLevels(product).catch(showFailure);
    showHolds(product).catch(showFailure);
  } else {
    hideLevels();
    hideHolds();
  }
}

/** The editor's Reserved and Available, as last read: holds move them whatever version the form edits. */
function showReserved(product) {
  $("edit-reserved").value = product ? count(product.reserved) : "—";
  showAvailable($("edit-available"), product?.available);
}

/** The form's values as API fields, or null after marking what is unreadable. */
function editorFields() {
  const currency = $("edit-currency").value.trim().toUpperCase();
  const price = parsePrice($("edit-price").value, currency);
  const stock = /^\s*\d+\s*$/.test($("edit-stock").value) ? Number($("edit-stock").value) : null;
  if (price === null) $("edit-price_minor-error").textContent = `Price must be an amount in ${currency || "the currency"}, such as 12.50.`;
  if (stock === null) $("edit-stock-error").textContent = "Stock must be a whole number, 0 or more.";
  if (price === null || stock === null) return null;
  return {
    sku: $("edit-sku").value.trim(),
    name: $("edit-name").value,
    description: $("edit-description").value,
    price_minor: price,
    currency,
    stock,
  };
}

/** The fields that differ from the product as it was loaded. */
function changedFields(loaded, fields) {
  return Object.fromEntries(Object.entries(fields).filter(([name, value]) => loaded[name] !== value));
}

async function saveEditor(event) {
  event.preventDefault();
  const form = $("editor-form");
  clearErrors(form);
  const fields = editorFields();
  if (!fields) return;
  try {
    if (state.editing) {
      const { product } = state.editing;
      const change = changedFields(product, fields);
      state.editing.change = change;
      const saved = await api.update(product.id, product.version, change);
      replaceRow(saved);
    } else {
      await api.create(fields);
      await loadPage(null);
    }
    closeEditor();
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    if (error.is("stale-version")) openProductConflict(error.problem);
    else showErrors(form, "edit", error, $("editor-error"));
  }
}

function closeEditor() {
  state.editing = null;
  hideLevels();
  hideHolds();
  $("editor").close();
}

// ---- The conflict dialog ----------------------------------------------

function describe(field, value, currency) {
  if (value === null || value === undefined) return "—";
  if (field === "price_minor") return formatPrice(value, currency);
  return String(value);
}

/** Built from the 409 alone: it carries the product now and what changed. */
function openProductConflict(problem) {
  const { product: loaded, change } = state.editing;
  const current = problem.current;
  openConflict({
    title: "This product changed while you were editing",
    summary: `You loaded version ${problem.your_version}; ${writersOf(problem.changes_since)} saved version ${problem.current_version} since.`,
    overlap: problem.rebase_safe
      ? "No overlap with your change: applying yours on top keeps theirs."
      : `Overlap: they also changed ${problem.conflicting_fields.map((field) => FIELD_LABELS[field] ?? field).join(", ")}.`,
    fields: Object.entries(change).map(([field, mine]) => ({
      label: FIELD_LABELS[field] ?? field,
      theirs: describe(field, current[field], current.currency),
      yours: describe(field, mine, change.currency ?? current.currency),
    })),
    changes: problem.changes_since.map((entry) => {
      const fields = Object.entries(entry.changes)
        .map(([field, { from, to }]) => `${FIELD_LABELS[field] ?? field}: ${describe(field, from, loaded.currency)} → ${describe(field, to, current.currency)}`)
        .join("; ");
      return `Version ${entry.version}, ${entry.operation.replace("_", " ")} by ${entry.actor}${fields ? `: ${fields}` : ""}`;
    }),
    keepTheirs: () => {
      replaceRow(current);
      closeEditor();
    },
    applyMine: () => applyMine(problem),
  });
}

async function applyMine(problem) {
  const { change } = state.editing;
  try {
    const saved = await api.update(problem.current.id, problem.current_version, change);
    replaceRow(saved);
    closeEditor();
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    if (error.is("stale-version")) {
      state.editing.product = problem.current;
      openProductConflict(error.problem);
    } else {
      showErrors($("editor-form"), "edit", error, $("editor-error"));
    }
  }
}

// ---- Stock, delete, history -------------------------------------------

let adjusting = null;

async function openAdjuster(product) {
  adjusting = product;
  clearErrors($("adjuster-form"));
  $("adjuster-title").textContent = `Adjust stock of ${product.name} (now ${product.stock})`;
  $("adjust-delta").value = "";
  $("adjust-reason").value = "";
  $("adjust-reference").value = "";
  $("adjust-location").replaceChildren(); // nothing to choose until the locations are read afresh
  $("adjuster").showModal();
  try {
    await loadLocations();
    fillLocations($("adjust-location"));
    $("adjust-location").value = MAIN;
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    $("adjuster-error").textContent = error.message;
  }
}

async function saveAdjustment(event) {
  event.preventDefault();
  const form = $("adjuster-form");
  clearErrors(form);
  const text = $("adjust-delta").value.trim().replace("−", "-");
  if (!/^[+-]?\d+$/.test(text)) {
    $("adjust-delta-error").textContent = "Change must be a whole number such as 5 or -3.";
    return;
  }
  try {
    const { level, ...product } = await api.adjust(adjusting.id, {
      delta: Number(text),
      reason: $("adjust-reason").value,
      location: $("adjust-location").value,
      reference: optional("adjust-reference"),
    });
    stockWritten(product, [level]);
    $("adjuster").close();
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    showErrors(form, "adjust", error, $("adjuster-error"));
  }
}

let deleting = null;

function openDeleter(product) {
  deleting = product;
  $("deleter-error").textContent = "";
  $("deleter-text").textContent = `${product.name} (${product.sku}) will be deleted. Its history stays readable.`;
  $("deleter").showModal();
  $("deleter-cancel").focus();
}

async function confirmDelete() {
  try {
    await api.remove(deleting.id, deleting.version);
    state.products.delete(deleting.id);
    renderTable();
    $("deleter").close();
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    $("deleter-error").textContent = error.message;
  }
}

async function openHistory(product) {
  $("history-title").textContent = `History of ${product.name}`;
  const page = await api.history(product.id).catch((error) => ({ items: [], error }));
  const entries = page.items.map((entry) => {
    const li = document.createElement("li");
    const when = new Date(entry.at).toLocaleString();
    const fields = Object.entries(entry.changes)
      .map(([field, { from, to }]) => `${FIELD_LABELS[field] ?? field} ${describe(field, from, product.currency)} → ${describe(field, to, product.currency)}`)
      .join("; ");
    li.textContent = `Version ${entry.version}: ${entry.operation.replace("_", " ")} by ${entry.actor}, ${when}${entry.reason ? ` (${entry.reason})` : ""}${fields ? `. ${fields}` : ""}`;
    return li;
  });
  if (page.error) entries.push(Object.assign(document.createElement("li"), { textContent: page.error.message }));
  $("history-entries").replaceChildren(...entries);
  $("history").showModal();
}

// ---- Wiring -----------------------------------------------------------

function wire() {
  $("sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    $("sign-in-error").textContent = "";
    try {
      await signIn($("token").value.trim());
    } catch (error) {
      $("sign-in-error").textContent = error instanceof ProblemError && error.status === 401
        ? "This token is not valid: check it, or ask for a new one."
        : (error.message ?? "The server could not be reached.");
    }
  });
  $("sign-out").addEventListener("click", signOut);
  $("search").addEventListener("submit", (event) => {
    event.preventDefault();
    state.text = $("search-text").value.trim();
    state.cursors = [null];
    loadPage(null).catch(showFailure);
  });
  $("next-page").addEventListener("click", () => {
    state.cursors.push(state.nextCursor);
    loadPage(state.nextCursor).catch(showFailure);
  });
  $("first-page").addEventListener("click", () => {
    state.cursors = [null];
    loadPage(null).catch(showFailure);
  });
  $("new-product").addEventListener("click", () => openEditor(null));
  $("editor-form").addEventListener("submit", saveEditor);
  $("editor-cancel").addEventListener("click", closeEditor);
  $("editor-reload").addEventListener("click", () => {
    const latest = state.editing?.latest;
    $("editor").close();
    openEditor(latest);
  });
  $("editor").addEventListener("cancel", () => {
    state.editing = null;
    hideLevels();
    hideHolds();
  });
  wireConflict();
  wireLevels({ stockWritten });
  wireHolds({ holdCounted });
  wireCounts();
  wireWebhooks();
  $("location-filter").addEventListener("change", () => {
    state.location = $("location-filter").value;
    state.cursors = [null];
    loadPage(null).catch(showFailure);
  });
  $("adjuster-form").addEventListener("submit", saveAdjustment);
  $("adjuster-cancel").addEventListener("click", () => $("adjuster").close());
  $("deleter-cancel").addEventListener("click", () => $("deleter").close());
  $("deleter-confirm").addEventListener("click", confirmDelete);
  $("history-close").addEventListener("click", () => $("history").close());
  if (session.token()) signIn(session.token()).catch(() => {});
}

wire();
