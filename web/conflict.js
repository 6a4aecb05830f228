// The dialog a stale write opens, for a product or for one of its levels.
// The caller builds its text from the 409 alone (their value and yours,
// the changes since) and says what each choice does.

import { $, cell } from "./dom.js";

let choice = null; // { keepTheirs, applyMine } of the dialog shown

/** Who saved the versions since: "alice, bob", or "someone". */
export function writersOf(changes) {
  return [...new Set(changes.map((entry) => entry.actor))].join(", ") || "someone";
}

/** `fields`: [{ label, theirs, yours }]; `changes`: one line per version since. */
export function openConflict({ title, summary, overlap, fields, changes, keepTheirs, applyMine }) {
  $("conflict-title").textContent = title;
  $("conflict-summary").textContent = summary;
  $("conflict-overlap").textContent = overlap;
  const rows = fields.map(({ label, theirs, yours }) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = label;
    tr.append(th, cell(theirs), cell(yours));
    return tr;
  });
  $("conflict-fields").tBodies[0].replaceChildren(...rows);
  const lines = changes.map((text) => Object.assign(document.createElement("li"), { textContent: text }));
  $("conflict-changes").replaceChildren(...lines);
  choice = { keepTheirs, applyMine };
  $("conflict").showModal();
  $("apply-mine").focus();
}

export function wireConflict() {
  $("keep-theirs").addEventListener("click", () => {
    $("conflict").close();
    choice.keepTheirs();
  });
  $("apply-mine").addEventListener("click", () => {
    $("conflict").close();
    choice.applyMine();
  });
}
