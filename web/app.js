// The store-manager page: products with search and pages, create, edit,
// stock adjustments, delete and history. Every edit sends the version it
// was loaded with; a stale-version 409 opens a dialog built from the 409
// alone. Live changes from others update the table as they are committed.

import { api, ProblemError, session } from "./api.js";
import { followChanges } from "./live.js";
import { formatPrice, parsePrice, priceInput } from "./money.js";

const $ = (id) => document.getElementById(id);

const FIELD_LABELS = {
  sku: "SKU",
  name: "Name",
  description: "Description",
  price_minor: "Price",
  currency: "Currency",
  stock: "Stock",
};

const state = {
  text: "",
  cursors: [null], // the cursor of each page visited, for "first page"
  nextCursor: null,
  products: new Map(), // id -> product, the page shown
  editing: null, // { product, change } while the editor is open
  stopLive: null,
};

// ---- Signing in -------------------------------------------------------

async function signIn(token) {
  session.signIn(token);
  try {
    await loadPage(null);
  } catch (error) {
    session.signOut();
    throw error;
  }
  $("sign-in-section").hidden = true;
  $("products-section").hidden = false;
  $("signed-in").hidden = false;
  state.stopLive = followChanges({
    onChange: applyChange,
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
  const page = await api.list({ text: state.text, cursor });
  state.products = new Map(page.items.map((product) => [product.id, product]));
  state.nextCursor = page.next_cursor;
  renderTable();
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function actionButton(label, product, action) {
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-label", `${label} ${product.name} (${product.sku})`);
  button.addEventListener("click", () => action(state.products.get(product.id) ?? product));
  return button;
}

function row(product) {
  const tr = document.createElement("tr");
  tr.dataset.id = product.id;
  tr.append(
    cell(product.sku),
    cell(product.name),
    cell(formatPrice(product.price_minor, product.currency), "number"),
    cell(String(product.stock), "number"),
    cell(String(product.version), "number"),
  );
  const actions = cell("", "actions");
  actions.append(
    actionButton("Edit", product, openEditor),
    actionButton("Adjust stock", product, openAdjuster),
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
    td.colSpan = 6;
    empty.append(td);
    body.append(empty);
  }
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

/** A change from the live feed: someone (maybe this page) committed it. */
function applyChange(change) {
  const shown = state.products.get(change.id);
  if (change.operation === "delete") {
    if (shown) {
      state.products.delete(change.id);
      renderTable();
    }
  } else if (shown && change.product.version > shown.version) {
    replaceRow(change.product);
  } else if (!shown && change.operation === "create" && state.cursors.length === 1 && !state.text) {
    loadPage(null).catch(showFailure);
  }
  const editing = state.editing;
  if (editing?.product.id === change.id && change.version > editing.product.version) {
    const what = change.operation === "delete" ? "deleted" : "changed";
    $("editor-notice-text").textContent = `${what === "deleted" ? "Deleted" : "Changed"} by ${change.actor} (now version ${change.version}). Reload to see their change, or save to compare yours with it.`;
    $("editor-notice").hidden = false;
    $("editor-reload").hidden = change.operation === "delete";
    editing.latest = change.product;
  }
}

function showFailure(error) {
  $("live-status").textContent = error instanceof ProblemError ? error.message : "The server could not be reached.";
}

// ---- Field errors -----------------------------------------------------

function clearErrors(form) {
  for (const element of form.querySelectorAll(".error")) element.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/** Shows each error of a 400/422 beside its field; the rest in `general`. */
function showErrors(form, prefix, error, general) {
  const unplaced = [];
  for (const { pointer, detail } of error.problem.errors ?? []) {
    const field = pointer.replace(/^\//, "");
    const slot = $(`${prefix}-${field}-error`);
    if (slot) {
      slot.textContent = `${FIELD_LABELS[field] ?? field} ${detail}`;
      form.querySelector(`[aria-describedby="${slot.id}"]`)?.setAttribute("aria-invalid", "true");
    } else {
      unplaced.push(detail);
    }
  }
  general.textContent = unplaced.length || !error.problem.errors ? error.message : "";
  form.querySelector("[aria-invalid]")?.focus();
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
  $("editor").showModal();
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
    if (error.is("stale-version")) openConflict(error.problem);
    else showErrors(form, "edit", error, $("editor-error"));
  }
}

function closeEditor() {
  state.editing = null;
  $("editor").close();
}

// ---- The conflict dialog ----------------------------------------------

function describe(field, value, currency) {
  if (value === null || value === undefined) return "—";
  if (field === "price_minor") return formatPrice(value, currency);
  return String(value);
}

/** Built from the 409 alone: it carries the product now and what changed. */
function openConflict(problem) {
  const { product: loaded, change } = state.editing;
  const current = problem.current;
  const actors = [...new Set(problem.changes_since.map((entry) => entry.actor))].join(", ");
  $("conflict-summary").textContent = `You loaded version ${problem.your_version}; ${actors || "someone"} saved version ${problem.current_version} since.`;
  $("conflict-overlap").textContent = problem.rebase_safe
    ? "No overlap with your change: applying yours on top keeps theirs."
    : `Overlap: they also changed ${problem.conflicting_fields.map((field) => FIELD_LABELS[field] ?? field).join(", ")}.`;

  const fieldRows = Object.entries(change).map(([field, mine]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = FIELD_LABELS[field] ?? field;
    tr.append(th, cell(describe(field, current[field], current.currency)), cell(describe(field, mine, change.currency ?? current.currency)));
    return tr;
  });
  $("conflict-fields").tBodies[0].replaceChildren(...fieldRows);

  const changes = problem.changes_since.map((entry) => {
    const li = document.createElement("li");
    const fields = Object.entries(entry.changes)
      .map(([field, { from, to }]) => `${FIELD_LABELS[field] ?? field}: ${describe(field, from, loaded.currency)} → ${describe(field, to, current.currency)}`)
      .join("; ");
    li.textContent = `Version ${entry.version}, ${entry.operation.replace("_", " ")} by ${entry.actor}${fields ? `: ${fields}` : ""}`;
    return li;
  });
  $("conflict-changes").replaceChildren(...changes);
  state.conflict = problem;
  $("conflict").showModal();
  $("apply-mine").focus();
}

function keepTheirs() {
  replaceRow(state.conflict.current);
  $("conflict").close();
  closeEditor();
}

async function applyMine() {
  const { change } = state.editing;
  const problem = state.conflict;
  $("conflict").close();
  try {
    const saved = await api.update(problem.current.id, problem.current_version, change);
    replaceRow(saved);
    closeEditor();
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    if (error.is("stale-version")) {
      state.editing.product = problem.current;
      openConflict(error.problem);
    } else {
      showErrors($("editor-form"), "edit", error, $("editor-error"));
    }
  }
}

// ---- Stock, delete, history -------------------------------------------

let adjusting = null;

function openAdjuster(product) {
  adjusting = product;
  clearErrors($("adjuster-form"));
  $("adjuster-title").textContent = `Adjust stock of ${product.name} (now ${product.stock})`;
  $("adjust-delta").value = "";
  $("adjust-reason").value = "";
  $("adjuster").showModal();
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
    replaceRow(await api.adjust(adjusting.id, Number(text), $("adjust-reason").value));
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
  $("editor").addEventListener("cancel", () => (state.editing = null));
  $("keep-theirs").addEventListener("click", keepTheirs);
  $("apply-mine").addEventListener("click", applyMine);
  $("adjuster-form").addEventListener("submit", saveAdjustment);
  $("adjuster-cancel").addEventListener("click", () => $("adjuster").close());
  $("deleter-cancel").addEventListener("click", () => $("deleter").close());
  $("deleter-confirm").addEventListener("click", confirmDelete);
  $("history-close").addEventListener("click", () => $("history").close());
  if (session.token()) signIn(session.token()).catch(() => {});
}

wire();
