/**
 * CSV as RFC 4180 writes it: records end with CRLF; a field holding a comma, a double quote, a CR or an LF
 * is put in double quotes, and each double quote inside it is doubled. A missing value is an empty field.
 */

export type CsvValue = string | number | null;

export function csvField(v: CsvValue): string {
  const s = v === null ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The header and one record per row, the fields in the header's order. */
export function toCsv<K extends string>(header: readonly K[], rows: ReadonlyArray<Record<K, CsvValue>>): string {
  const line = (fields: CsvValue[]): string => `${fields.map(csvField).join(',')}\r\n`;
  return line([...header]) + rows.map((r) => line(header.map((h) => r[h]))).join('');
}
