// Stock by location. In the product editor: each location's level with what
// holds reserve there and its version, set one at a time with the level
// version it was loaded with; a stale one opens the conflict dialog, filled
// from the level's 409. And the Transfer dialog, which moves stock from one
// location to another.

import { api, ProblemError } from "./api.js";
import { openConflict, writersOf } from "./conflict.js";
import { $, button, cell, optional, signed } from "./dom.js";
import { clearErrors, showErrors } from "./forms.js";
import { reservedCells } from "./holds.js";
import { fillLocations, loadLocations, MAIN } from "./locations.js";

let onStock = () => {}; // told (product, levels) after each write, to show them
let shown = null; // { id, levels: Map code -> level, reads } in the open editor
let setting = null; // the level the form sets, as loaded

// ---- The editor's levels ----------------------------------------------

/** Reads and lists the product's level at every location. */
export async function showLevels(product) {
  shown = { id: product.id, levels: new Map(), reads: 0 };
  closeLevelForm();
  $("levels").tBodies[0].replaceChildren();
  $("levels-status").textContent = "Loading the stock at each location…";
  $("editor-levels").hidden = false;
  await refreshLevels(product.id);
}

/**
 * Reads the levels again, if the editor lists them: holds move what is
 * reserved but not the levels' versions, so the form stays open.
 */
export async function refreshLevels(id) {
  if (shown?.id !== id) return;
  const listing = shown;
  const asked = ++listing.reads;
  try {
    const { items } = await api.productLevels(id);
    // The editor moved on, or a later read was asked for: this one is stale.
    if (shown !== listing || listing.reads !== asked) return;
    for (const level of items) {
      // A write this page saw may be newer than this read.
      const known = listing.levels.get(level.location);
      if (!known || level.version >= known.version) listing.levels.set(level.location, level);
    }
    renderLevels();
    $("levels-status").textContent = "";
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    if (shown === listing) $("levels-status").textContent = error.message;
  }
}

export function hideLevels() {
  shown = null;
  closeLevelForm();
  $("editor-levels").hidden = true;
}

function renderLevels() {
  const rows = [...shown.levels.values()].map((level) => {
    const tr = document.createElement("tr");
    tr.dataset.location = level.location;
    const actions = cell("", "actions");
    actions.append(button("Set", `Set on hand at ${level.location}`, () => openLevelForm(level)));
    tr.append(
      cell(level.location),
      cell(String(level.on_hand), "number"),
      ...reservedCells(level),
      cell(String(level.version), "number"),
      actions,
    );
    return tr;
  });
  $("levels").tBodies[0].replaceChildren(...rows);
}

function showLevel(id, level) {
  if (shown?.id !== id) return;
  shown.levels.set(level.location, level);
  renderLevels();
}

function openLevelForm(level) {
  setting = level;
  const form = $("level-form");
  clearErrors(form);
  $("level-form-title").textContent = `Set the on hand at ${level.location} (now ${level.on_hand}, level version ${level.version})`;
  $("level-on_hand").value = String(level.on_hand);
  $("level-reason").value = "";
  $("level-reference").value = "";
  form.hidden = false;
  $("level-on_hand").focus();
}

function closeLevelForm() {
  setting = null;
  $("level-form").hidden = true;
}

async function submitLevel(event) {
  event.preventDefault();
  clearErrors($("level-form"));
  const text = $("level-on_hand").value.trim();
  if (!/^\d+$/.test(text)) {
    $("level-on_hand-error").textContent = "New on hand must be a whole number, 0 or more.";
    return;
  }
  await writeLevel({
    id: shown.id,
    code: setting.location,
    on_hand: Number(text),
    version: setting.version,
    reason: optional("level-reason"),
    reference: optional("level-reference"),
  });
}

/** PATCH of one level, guarded by `change.version`, the level's version. */
async function writeLevel({ id, code, ...change }) {
  try {
    const { level, product } = await api.setLevel(id, code, change);
    showLevel(id, level);
    closeLevelForm();
    onStock(product, [level]);
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    if (error.is("stale-version")) openLevelConflict(error.problem, { id, code, ...change });
    else showErrors($("level-form"), "level", error, $("level-error"));
  }
}

/** "Version 8, stock adjustment by till-2: SHOP-1 −1 → 9", from the entry's ledger line. */
function describeMove(entry) {
  const what = `Version ${entry.version}, ${entry.operation.replace("_", " ")} by ${entry.actor}`;
  if (!entry.ledger) return what;
  const { location, delta, on_hand: onHand } = entry.ledger;
  return `${what}: ${location} ${signed(delta)} → ${onHand}`;
}

function openLevelConflict(problem, change) {
  const { current } = problem;
  openConflict({
    title: `The stock at ${current.location} changed while you were editing`,
    summary: `You loaded version ${problem.your_version} of the level at ${current.location}; ${writersOf(problem.changes_since)} saved version ${problem.current_version} since.`,
    overlap: problem.rebase_safe
      ? "No overlap: it already holds the on hand you are setting."
      : "Overlap: they also changed the on hand; applying yours on top sets it to yours, over their change.",
    fields: [{ label: "On hand", theirs: String(current.on_hand), yours: String(change.on_hand) }],
    changes: problem.changes_since.map(describeMove),
    keepTheirs: () => {
      showLevel(change.id, current);
      closeLevelForm();
    },
    applyMine: () => writeLevel({ ...change, version: problem.current_version }),
  });
}

// ---- Transfers ----------------------------------------------------------

let transferring = null;

export async function openTransfer(product) {
  transferring = product;
  const form = $("transferer-form");
  clearErrors(form);
  $("transferer-title").textContent = `Transfer ${product.name} (${product.stock} in all locations)`;
  for (const id of ["transfer-quantity", "transfer-reason", "transfer-reference"]) $(id).value = "";
  // Nothing to choose until the locations are read afresh.
  $("transfer-from").replaceChildren();
  $("transfer-to").replaceChildren();
  $("transferer").showModal();
  try {
    const codes = (await loadLocations()).map((location) => location.code);
    fillLocations($("transfer-from"));
    fillLocations($("transfer-to"));
    $("transfer-from").value = MAIN;
    $("transfer-to").value = codes.find((code) => code !== MAIN) ?? MAIN;
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    $("transferer-error").textContent = error.message;
  }
}

async function submitTransfer(event) {
  event.preventDefault();
  const form = $("transferer-form");
  clearErrors(form);
  const text = $("transfer-quantity").value.trim();
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    $("transfer-quantity-error").textContent = "Quantity must be a whole number, 1 or more.";
    return;
  }
  try {
    const moved = await api.transfer({
      product_id: transferring.id,
      from: $("transfer-from").value,
      to: $("transfer-to").value,
      quantity: Number(text),
      reason: $("transfer-reason").value,
      reference: optional("transfer-reference"),
    });
    $("transferer").close();
    onStock(moved.product, [moved.from, moved.to]);
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    showErrors(form, "transfer", error, $("transferer-error"));
  }
}

// ---- Wiring ---------------------------------------------------------------

/** `stockWritten(product, levels)` shows what a write of this page changed. */
export function wireLevels({ stockWritten }) {
  onStock = stockWritten;
  $("level-form").addEventListener("submit", submitLevel);
  $("level-cancel").addEventListener("click", closeLevelForm);
  $("transferer-form").addEventListener("submit", submitTransfer);
  $("transferer-cancel").addEventListener("click", () => $("transferer").close());
}
