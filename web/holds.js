// Holds: stock set aside for orders not yet sold. How the page shows what
// they leave available (a negative count means oversold), the product
// editor's list of active holds with Release, and the notice an oversold
// level raises.

import { api, ProblemError } from "./api.js";
import { $, button, cell } from "./dom.js";

let onCounts = () => {}; // told (hold) when this page ends one or finds it ended, to show its product's counts again
let shown = null; // { id, reads } of the product whose holds the editor lists
const oversold = new Map(); // "product id + location" -> the notice's line for it

// ---- Reserved and available ---------------------------------------------

/** A count with a true minus sign, as the page writes changes of stock. */
export const count = (value) => (value < 0 ? `−${-value}` : String(value));

/** Shows `available` in `element`; a negative one is marked in words, not by colour alone. */
export function showAvailable(element, available) {
  element.classList.toggle("oversold", available < 0);
  element.replaceChildren(available == null ? "—" : count(available));
  if (available < 0) {
    const mark = Object.assign(document.createElement("span"), { className: "badge", textContent: "oversold" });
    element.append(" ", mark);
  }
  return element;
}

/** The Reserved and Available cells of a product or a level; "—" for one not known. */
export function reservedCells(stock) {
  return [cell(stock ? count(stock.reserved) : "—", "number"), showAvailable(cell("", "number"), stock?.available)];
}

// ---- The editor's holds ---------------------------------------------------

/** Lists the product's active holds in the editor. */
export async function showHolds(product) {
  shown = { id: product.id, reads: 0 };
  $("holds").tBodies[0].replaceChildren();
  $("holds-error").textContent = "";
  $("holds-status").textContent = "Loading the holds…";
  $("editor-holds").hidden = false;
  await refreshHolds(product.id);
}

export function hideHolds() {
  shown = null;
  $("editor-holds").hidden = true;
}

/** Reads the product's active holds again, if the editor lists them. */
export async function refreshHolds(id) {
  if (shown?.id !== id) return;
  const listing = shown;
  const asked = ++listing.reads;
  try {
    const holds = await activeHolds(id);
    // The editor moved on, or a later read was asked for: this one is stale.
    if (shown !== listing || listing.reads !== asked) return;
    renderHolds(holds);
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    if (shown === listing) $("holds-status").textContent = error.message;
  }
}

/** Every page of them, oldest first. */
async function activeHolds(product) {
  const holds = [];
  let cursor = null;
  do {
    const page = await api.holds({ product, status: "active" }, cursor);
    holds.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return holds;
}

function renderHolds(holds) {
  const rows = holds.map((hold) => {
    const tr = document.createElement("tr");
    tr.dataset.id = hold.id;
    const actions = cell("", "actions");
    const what = `${hold.reference ?? "hold"} (${hold.quantity} at ${hold.location})`;
    actions.append(button("Release", `Release ${what}`, (event) => release(hold, event.currentTarget)));
    tr.append(
      cell(hold.location),
      cell(String(hold.quantity), "number"),
      cell(hold.reference ?? "—"),
      cell(new Date(hold.expires_at).toLocaleString()),
      actions,
    );
    return tr;
  });
  $("holds").tBodies[0].replaceChildren(...rows);
  $("holds-status").textContent = holds.length ? "" : "No active holds.";
}

/**
 * Releases the hold as it was listed. No request tells the page its
 * caller's role, so every caller sees Release; one who may not release
 * reads the server's 403 here.
 */
async function release(hold, control) {
  $("holds-error").textContent = "";
  control.disabled = true; // one release per click, however impatient
  try {
    onCounts(await api.releaseHold(hold.id, hold.version));
  } catch (error) {
    control.disabled = false;
    if (!(error instanceof ProblemError)) throw error;
    $("holds-error").textContent = error.message;
    // Released, committed, expired or changed meanwhile: show the holds as they are now.
    if (error.status === 409) onCounts(error.problem.hold ?? error.problem.current ?? hold);
  }
  await refreshHolds(hold.product_id);
}

// ---- Oversold -------------------------------------------------------------

/** An oversold level: which product, where, and how many holds may not be met. */
export function showOversold(event, name) {
  const holds = event.holds.length;
  oversold.set(`${event.product_id} ${event.location}`,
    `${name} is oversold at ${event.location}: ${event.on_hand} on hand, ${event.reserved} reserved ` +
    `(available ${count(event.available)}); ${holds} ${holds === 1 ? "hold is" : "holds are"} at risk.`);
  const lines = [...oversold.values()].map((text) => Object.assign(document.createElement("li"), { textContent: text }));
  $("oversold-list").replaceChildren(...lines);
  $("oversold").hidden = false;
}

// ---- Wiring ---------------------------------------------------------------

/** `holdCounted(hold)` shows the counts of the hold's product again. */
export function wireHolds({ holdCounted }) {
  onCounts = holdCounted;
  $("oversold-dismiss").addEventListener("click", () => {
    oversold.clear();
    $("oversold").hidden = true;
  });
}
