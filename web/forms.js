// A refused request's errors, each shown beside the field it points at
// (`/price_minor` -> `#edit-price_minor-error`), the rest in the form's alert.

import { $ } from "./dom.js";

/** How the page names each field the API may point at. */
export const FIELD_LABELS = {
  sku: "SKU",
  name: "Name",
  description: "Description",
  price_minor: "Price",
  currency: "Currency",
  stock: "Stock",
  location: "Location",
  delta: "Change",
  reason: "Reason",
  reference: "Reference",
  from: "From",
  to: "To",
  quantity: "Quantity",
  on_hand: "On hand",
  url: "URL",
  events: "Events",
};

export function clearErrors(form) {
  for (const element of form.querySelectorAll(".error")) element.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/** Shows each error of a 400/422 beside its field; the rest in `general`. */
export function showErrors(form, prefix, error, general) {
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
