/**
 * An in-flight entry as reserve.lua (or enqueue.lua, handing a job off) writes it:
 * `<token>#<n>[t]\0<run_at>\0<queue>\0<payload>`. Kept as the original bytes, because finishing a
 * job removes exactly those bytes (LREM). Only what a running job needs is decoded (token and
 * run_at are for the scripts and recovery).
 */
export interface InFlightEntry {
  readonly raw: Buffer;
  readonly queue: string;
  readonly payload: string;
  /** The token ends in 't': a php-resque status key existed when the job was reserved. */
  readonly tracked: boolean;
}

const TRACKED_MARK = 0x74; // 't'

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
    tracked: raw[a - 1] === TRACKED_MARK,
  };
}
