// CSV (RFC 4180): quoted fields, doubled quotes, CRLF or LF line ends.

export function parseCsv(text) {
  const rows = [];
  let row = [];
  let fieldText = '';
  let quoted = false;
  let i = 0;
  const src = String(text).replace(/^\uFEFF/, '');
  while (i < src.length) {
    const c = src[i];
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          fieldText += '"';
          i += 1;
        } else {
          quoted = false;
        }
      } else {
        fieldText += c;
      }
    } else if (c === '"' && fieldText === '') {
      quoted = true;
    } else if (c === ',') {
      row.push(fieldText);
      fieldText = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && src[i + 1] === '\n') i += 1;
      row.push(fieldText);
      rows.push(row);
      row = [];
      fieldText = '';
    } else {
      fieldText += c;
    }
    i += 1;
  }
  if (fieldText !== '' || row.length) {
    row.push(fieldText);
    rows.push(row);
  }
  return rows.filter((r) => r.some((cell) => cell.trim() !== ''));
}

/** Rows of objects keyed by the (lower-cased, trimmed) header row. */
export function parseCsvObjects(text) {
  const [header, ...rows] = parseCsv(text);
  if (!header) return { columns: [], rows: [] };
  const columns = header.map((c) => c.trim().toLowerCase());
  return {
    columns,
    rows: rows.map((cells) => Object.fromEntries(columns.map((c, i) => [c, (cells[i] ?? '').trim()]))),
  };
}

function quote(value) {
  const text = value === null || value === undefined ? '' : String(value);
  // A leading = + - @ would be read as a formula by spreadsheets: prefix it with a quote.
  const safe = /^[=+\-@\t\r]/.test(text) && !/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function toCsv(columns, rows) {
  return [columns.map(quote).join(','), ...rows.map((r) => columns.map((c) => quote(r[c])).join(','))].join('\r\n') + '\r\n';
}
