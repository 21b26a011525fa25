/**
 * An in-flight entry as the reserve script writes it: `<token>#<n>\0<run_at>\0<queue>\0<payload>`.
 * Kept as the original bytes, because finishing a job removes exactly those bytes (LREM). Only the
 * fields a running job needs are decoded (token and run_at are for the scripts and recovery).
 */
export interface InFlightEntry {
  readonly raw: Buffer;
  readonly queue: string;
  readonly payload: string;
}

export function parseInFlightEntry(raw: Buffer): InFlightEntry {
  const a = raw.indexOf(0);
  const b = raw.indexOf(0, a + 1);
  const c = raw.indexOf(0, b + 1);
  if (a < 0 || b < 0 || c < 0)
    throw new Error(`malformed in-flight entry: ${JSON.stringify(raw.toString().slice(0, 100))}`);
  return {
    raw,
    queue: raw.toString('utf8', b + 1, c),
    payload: raw.toString('utf8', c + 1),
  };
}
