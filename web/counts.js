// Stock files. Out: a location's levels as CSV. In: counts from a CSV of
// sku,location,count[,counted_at], first sent as a dry run so every row's
// outcome is shown, and applied only when asked, as one stock sync of the
// same counts.

import { api, ProblemError } from "./api.js";
import { CsvError, formatCsv, parseCsv } from "./csv.js";
import { $, cell, signed } from "./dom.js";
import { MAIN } from "./locations.js";

/** The most counts one stock sync takes. */
const MAX_ROWS = 1000;
/** The largest page of levels the API gives. */
const LEVELS_PAGE = 200;
const COLUMNS = ["sku", "location", "count", "counted_at"];
const REASON = "CSV import";

// ---- Export -------------------------------------------------------------

async function exportLevels(event) {
  event.preventDefault();
  const code = $("export-location").value;
  $("export-error").textContent = "";
  try {
    const rows = [["sku", "name", "location", "on_hand", "version"]];
    let cursor = null;
    do {
      const page = await api.locationLevels(code, { cursor, limit: LEVELS_PAGE });
      for (const { product, level } of page.items) rows.push([product.sku, product.name, level.location, level.on_hand, level.version]);
      cursor = page.next_cursor;
    } while (cursor);
    download(`levels-${code}.csv`, formatCsv(rows));
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    $("export-error").textContent = error.message;
  }
}

/** Saves `text` as a file, through a link clicked and removed at once. */
function download(name, text) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const link = Object.assign(document.createElement("a"), { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  // A started download no longer needs the URL; give it time to start.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- Import: reading the file -------------------------------------------

/** A file that cannot be imported at all; its message says why. */
class UnreadableFile extends Error {}

// The counts of the file shown: { number (its row in the file, the header
// being 1), sku, location, count, countedAt, item (what is sent) or error,
// result (the server's outcome) }.
let rows = [];

function readCounts(text) {
  let records;
  try {
    records = parseCsv(text);
  } catch (error) {
    if (!(error instanceof CsvError)) throw error;
    throw new UnreadableFile(error.message);
  }
  const [header = [], ...data] = records;
  const names = header.map((name) => name.trim().toLowerCase());
  const known = names.every((name) => COLUMNS.includes(name)) && new Set(names).size === names.length;
  if (!known || !["sku", "location", "count"].every((name) => names.includes(name))) {
    throw new UnreadableFile("The first row must name the columns: sku,location,count and, if you have it, counted_at.");
  }
  const counts = data
    .map((fields, index) => ({ fields, number: index + 2 }))
    .filter(({ fields }) => fields.some((field) => field.trim() !== ""));
  if (counts.length > MAX_ROWS) {
    throw new UnreadableFile(`The file holds ${counts.length} counts; one import takes at most ${MAX_ROWS}. Split it into files of ${MAX_ROWS} rows or fewer.`);
  }
  return counts.map(({ fields, number }) => countOf(fields, names, number));
}

function countOf(fields, names, number) {
  const value = (name) => (fields[names.indexOf(name)] ?? "").trim();
  const row = { number, sku: value("sku"), location: value("location"), count: value("count"), countedAt: value("counted_at") };
  if (fields.length !== names.length) {
    row.error = `has ${fields.length} fields; the first row names ${names.length} columns`;
  } else if (!row.sku) {
    row.error = "sku is empty";
  } else if (!/^\d+$/.test(row.count)) {
    row.error = "count must be a whole number, 0 or more";
  } else {
    row.item = {
      sku: row.sku,
      location: row.location || undefined, // none: MAIN
      stock: Number(row.count),
      // A count without its time overwrites whatever is there; with it, the
      // server adds the moves recorded since.
      ...(row.countedAt ? { counted_at: row.countedAt } : { force: true }),
    };
  }
  return row;
}

// ---- Import: dry run and apply ------------------------------------------

async function sync(sending, dryRun) {
  const outcome = await api.syncStock({
    items: sending.map((row) => row.item),
    reason: REASON,
    ...(dryRun ? { dry_run: true } : {}),
  });
  sending.forEach((row, index) => (row.result = outcome.results[index]));
  return outcome;
}

/** Marks each row a 422 points at (`/items/3/counted_at`); false when it points at none. */
function markErrors(sending, error) {
  const found = new Map(); // row -> { fields: ["counted_at must …"], whole: ["needs …"] }
  for (const { pointer, detail } of error.problem.errors ?? []) {
    const match = /^\/items\/(\d+)(?:\/([a-z_]+))?/.exec(pointer);
    const row = match && sending[Number(match[1])];
    if (!row) continue;
    const errors = found.get(row) ?? { fields: [], whole: [] };
    found.set(row, errors);
    // The file's column is "count"; the API's field is "stock".
    if (match[2]) errors.fields.push(`${match[2] === "stock" ? "count" : match[2]} ${detail}`);
    else errors.whole.push(detail);
  }
  // A field's own error says most; one about the whole item shows when no
  // field has one.
  for (const [row, { fields, whole }] of found) row.error = (fields.length ? fields : whole).join("; ");
  return found.size > 0;
}

/** The outcome of every row that can be sent. A 422 refuses a whole batch:
 * its rows are marked and the rest tried again, until the rest pass. */
async function dryRun() {
  let sending = rows.filter((row) => row.item);
  while (sending.length) {
    try {
      return await sync(sending, true);
    } catch (error) {
      if (!(error instanceof ProblemError) || !markErrors(sending, error)) throw error;
      sending = sending.filter((row) => !row.error);
    }
  }
  return null;
}

function summary(outcome, dryRun) {
  const counts = Object.entries(outcome.summary)
    .filter(([, count]) => count > 0)
    .map(([status, count]) => `${count} ${status.replace("_", " ")}`);
  const refused = rows.filter((row) => row.error).length;
  if (refused) counts.push(`${refused} with errors, left out`);
  return dryRun
    ? `Dry run, nothing is applied yet: ${counts.join(", ")}. Check each row, then apply the counts or cancel.`
    : `Applied: ${counts.join(", ")}.`;
}

function detailOf({ result, count, countedAt, error }) {
  if (error) return error;
  switch (result?.status) {
    case "rebased": {
      const moved = result.replayed.reduce((sum, move) => sum + move.delta, 0);
      return `counted ${count} at ${countedAt}; ${signed(moved)} moved there since`;
    }
    case "superseded":
      return "a later count is already recorded there";
    case "not_found":
      return "no product has this SKU";
    case "location_not_found":
      return "no location has this code";
    case "not_applied":
      return "not applied: another row failed";
    default:
      return "";
  }
}

function renderRows() {
  const lines = rows.map((row) => {
    const tr = document.createElement("tr");
    const status = row.error ? "error" : (row.result?.status.replace("_", " ") ?? "—");
    tr.append(
      cell(String(row.number), "number"),
      cell(row.sku),
      cell(row.location || MAIN),
      cell(row.count, "number"),
      cell(status),
      cell(row.result?.level ? String(row.result.level.on_hand) : "", "number"),
      cell(detailOf(row)),
    );
    if (row.error) tr.className = "refused";
    return tr;
  });
  $("import-results").tBodies[0].replaceChildren(...lines);
}

async function importFile() {
  const input = $("import-file");
  const file = input.files[0];
  if (!file) return;
  $("import-error").textContent = "";
  try {
    rows = readCounts(await file.text());
  } catch (error) {
    if (!(error instanceof UnreadableFile)) throw error;
    $("import-error").textContent = error.message;
    return;
  } finally {
    input.value = ""; // so that choosing the same file again reads it again
  }
  $("importer-title").textContent = `Counts from ${file.name}`;
  $("importer-status").textContent = "Checking what each row would do…";
  $("importer-error").textContent = "";
  $("import-apply").hidden = true;
  $("importer-close").textContent = "Cancel";
  renderRows();
  $("importer").showModal();
  try {
    const outcome = await dryRun();
    $("importer-status").textContent = outcome ? summary(outcome, true) : "No row can be applied: each has an error.";
    $("import-apply").hidden = !outcome;
    $("import-apply").disabled = false;
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    $("importer-status").textContent = "";
    $("importer-error").textContent = error.message;
  }
  renderRows();
}

/** Sends the counts the dry run answered, in one stock sync. */
async function applyCounts() {
  const sending = rows.filter((row) => row.result);
  for (const row of sending) delete row.result;
  $("import-apply").disabled = true;
  try {
    const outcome = await sync(sending, false);
    $("importer-status").textContent = summary(outcome, false);
    $("import-apply").hidden = true;
    $("importer-close").textContent = "Close";
  } catch (error) {
    if (!(error instanceof ProblemError)) throw error;
    markErrors(sending, error);
    $("importer-status").textContent = "";
    $("importer-error").textContent = `${error.message} Nothing was applied.`;
  }
  renderRows();
}

export function wireCounts() {
  $("export-form").addEventListener("submit", exportLevels);
  $("import-file").addEventListener("change", importFile);
  $("import-apply").addEventListener("click", applyCounts);
  $("importer-close").addEventListener("click", () => $("importer").close());
}
