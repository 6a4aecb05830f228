// CSV as RFC 4180 writes it: fields separated by commas, records ended by
// CRLF, and a field holding a comma, quote or line break quoted, its
// quotes doubled. Reading also takes LF line ends and a leading BOM, as
// spreadsheets save them.

const NEEDS_QUOTES = /[",\r\n]/;

function field(value) {
  const text = String(value);
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The text of a file of `rows`, each an array of values. */
export function formatCsv(rows) {
  return rows.map((row) => `${row.map(field).join(",")}\r\n`).join("");
}

/** A file that is not CSV: `record` is its 1-based number (the header is 1). */
export class CsvError extends Error {
  constructor(record, problem) {
    super(`Row ${record} ${problem}.`);
  }
}

/** The records of `text`, each an array of strings. */
export function parseCsv(text) {
  const records = [];
  let record = [];
  let value = "";
  let at = text.startsWith("\uFEFF") ? 1 : 0;
  // A record is under way once anything of it was read, even `""` alone.
  let started = false;

  const endField = () => {
    record.push(value);
    value = "";
  };
  const endRecord = () => {
    endField();
    records.push(record);
    record = [];
    started = false;
  };

  while (at < text.length) {
    const char = text[at];
    started = true;
    if (char === '"' && value === "") {
      // A quoted field runs to the next quote that is not doubled.
      let end = at + 1;
      for (;;) {
        const quote = text.indexOf('"', end);
        if (quote < 0) throw new CsvError(records.length + 1, "has a quoted field that is never closed");
        value += text.slice(end, quote);
        if (text[quote + 1] !== '"') {
          at = quote + 1;
          break;
        }
        value += '"';
        end = quote + 2;
      }
      if (at < text.length && !",\r\n".includes(text[at])) {
        throw new CsvError(records.length + 1, "has text after a closing quote (quotes inside a field are doubled: \"\")");
      }
    } else if (char === ",") {
      endField();
      at += 1;
    } else if (char === "\r" || char === "\n") {
      endRecord();
      at += char === "\r" && text[at + 1] === "\n" ? 2 : 1;
    } else {
      value += char;
      at += 1;
    }
  }
  if (started) endRecord();
  return records;
}
