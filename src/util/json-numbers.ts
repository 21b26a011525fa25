/**
 * Whether JSON text holds a number JSON.parse cannot carry exactly: 16 digits or more in a row
 * outside strings (2^53 has 16), or one out of a double's range (1e999 parses as Infinity, which
 * JSON.stringify writes as null).
 */
const LONG_NUMBER = /\d{16}/;
const JSON_STRING = /"(?:[^"\\]|\\.)*"/g;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

export function mayLoseDigits(jsonText: string): boolean {
  const outsideStrings = jsonText.replace(JSON_STRING, '""');
  if (LONG_NUMBER.test(outsideStrings)) return true;
  return (outsideStrings.match(NUMBER) ?? []).some((n) => !Number.isFinite(Number(n)));
}
