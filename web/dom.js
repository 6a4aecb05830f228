// The few DOM helpers every part of the page uses.

export const $ = (id) => document.getElementById(id);

export function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** A button whose accessible name says what it acts on, not only "Edit". */
export function button(text, label, onClick) {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = text;
  if (label !== text) element.setAttribute("aria-label", label);
  element.addEventListener("click", onClick);
  return element;
}

/** An input's trimmed text, or undefined when blank: optional fields are left out. */
export function optional(id) {
  return $(id).value.trim() || undefined;
}

/** "+3", "−1": a change of stock, signed so it reads as one. */
export function signed(delta) {
  return delta < 0 ? `−${-delta}` : `+${delta}`;
}
