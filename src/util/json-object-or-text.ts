/**
 * A record read from Redis as the JSON object it should be, or as its text when it is not one
 * (another tool wrote it, or damaged it): returned for a person to read, never thrown on.
 */
export function jsonObjectOrText<T extends object>(raw: string): T | string {
  try {
    const value: unknown = JSON.parse(raw);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as T) : raw;
  } catch {
    return raw;
  }
}
