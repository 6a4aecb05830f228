// Prices travel as integer minor units (cents, yen); people read and type
// them in major units, with as many decimals as the currency has.

function fractionDigits(currency) {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions()
      .maximumFractionDigits;
  } catch {
    return 2;
  }
}

/** "€12.50" for 1250 EUR, in the reader's locale. */
export function formatPrice(priceMinor, currency) {
  const digits = fractionDigits(currency);
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(
      priceMinor / 10 ** digits,
    );
  } catch {
    return `${priceMinor} ${currency}`;
  }
}

/** "12.50" for 1250 EUR: what the price field shows. */
export function priceInput(priceMinor, currency) {
  const digits = fractionDigits(currency);
  return (priceMinor / 10 ** digits).toFixed(digits);
}

/** 1250 for "12.5" EUR, or null when the text is not an amount of that currency. */
export function parsePrice(text, currency) {
  const digits = fractionDigits(currency);
  const match = /^\s*(\d+)(?:[.,](\d*))?\s*$/.exec(text);
  if (!match || (match[2] ?? "").length > digits) return null;
  const fraction = (match[2] ?? "").padEnd(digits, "0");
  return Number(match[1]) * 10 ** digits + Number(fraction || "0");
}
