/**
 * Whether JSON text holds a number JSON.parse cannot carry exactly: more than 15 significant
 * digits (a double keeps 15 for certain: 12345678901234567890 and 12345678.123456789 come back
 * changed), an integer past 2^53 (100000000000000000000000 comes back as 1e+23), or one out of a
 * double's range (1e999 parses as Infinity, which JSON.stringify writes as null; 1e-400 as 0).
 * Strings are skipped: their digits are text.
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
    // A whole number past 2^53 written without exponent (10^23 with its zeros) comes back as 1e+23.
    if (!/[.eE]/.test(m[0]) && Math.abs(n) > Number.MAX_SAFE_INTEGER) return true;
  }
  return false;
}
