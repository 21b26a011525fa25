/**
 * Whether JSON text holds a number JSON.parse cannot carry exactly: more than 15 significant
 * digits (a double keeps 15 for certain: 12345678901234567890 and 12345678.123456789 come back
 * changed), or one out of a double's range (1e999 parses as Infinity, which JSON.stringify writes
 * as null; 1e-400 as 0). Strings are skipped: their digits are text.
 */
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;
const NUMBER = /-?(\d+)(?:\.(\d+))?(?:[eE][+-]?\d+)?/g;

export function mayLoseDigits(jsonText: string): boolean {
  const outsideStrings = jsonText.replace(JSON_STRING, '""');
  for (const m of outsideStrings.matchAll(NUMBER)) {
    const digits = `${m[1]}${m[2] ?? ''}`.replace(/^0+/, '').replace(/0+$/, '');
    if (digits.length > 15) return true;
    const n = Number(m[0]);
    if (!Number.isFinite(n) || (n === 0 && digits !== '')) return true;
  }
  return false;
}
