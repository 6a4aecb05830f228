// The live locations (MAIN first, as the API lists them), read when the
// page signs in and again when a dialog that names one opens, for the
// page's location selects.

import { api } from "./api.js";

export const MAIN = "MAIN";

let known = [];

/** Reads every page of locations. */
export async function loadLocations() {
  const items = [];
  let cursor = null;
  do {
    const page = await api.locations(cursor);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  known = items;
  return known;
}

/** Lists the locations in `select` ("All locations" first when `all`), keeping its choice if still listed. */
export function fillLocations(select, { all = false } = {}) {
  const chosen = select.value;
  const options = known.map(({ code, name }) => new Option(`${name} (${code})`, code));
  if (all) options.unshift(new Option("All locations", ""));
  select.replaceChildren(...options);
  if (options.some((option) => option.value === chosen)) select.value = chosen;
}

export const sameCode = (a, b) => a.toUpperCase() === b.toUpperCase();
