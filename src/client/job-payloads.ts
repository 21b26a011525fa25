/**
 * Reading the payloads found in queues and in the schedule: parsed or kept as text, matched by
 * class and args as Resque's dequeue and resque-scheduler's remove_delayed match them, and the
 * php-resque status keys of the tracked ones.
 */
import { isDeepStrictEqual } from 'node:util';
import { withoutTrailingUndefined } from '../jobs/json-args.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import { mayLoseDigits } from '../util/json-numbers.ts';
import { rawJsonValue } from '../util/raw-json-value.ts';

/** The parsed JSON, or the text itself when it is not JSON. */
export function parseOrRaw(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/**
 * Whether a payload (or scheduled item) is a job of this class, with these args if given. Compares
 * parsed JSON, so a payload written by Ruby or PHP with other key order or escaping matches; but
 * args holding a number too long for a JavaScript number (parsing rounds it) must match as text,
 * so that only the job named is taken.
 */
export function jobMatcher(
  className: string,
  given: unknown[] | undefined,
): (raw: string, parsed: unknown) => boolean {
  const args = given && withoutTrailingUndefined(given);
  const wanted = args === undefined ? undefined : JSON.stringify(args);
  return (raw, parsed) => {
    const p = parsed as { class?: unknown; args?: unknown } | null;
    if (typeof p !== 'object' || p?.class !== className) return false;
    if (wanted === undefined) return true;
    const rawArgs = rawJsonValue(raw, 'args') ?? '[]';
    if (rawArgs === wanted) return true;
    // Only a bare number can be rounded: digits inside strings (ids, card numbers) are text.
    return !mayLoseDigits(rawArgs) && isDeepStrictEqual(p.args ?? [], args);
  };
}

/** The status keys of the tracked jobs among these payloads (php-resque's id and prefix). */
export function statusKeysOf(keys: ResqueKeys, payloads: readonly string[]): string[] {
  return payloads
    .map((r) => parseOrRaw(r) as { id?: unknown; prefix?: unknown })
    .filter((p) => typeof p === 'object' && p !== null && typeof p.id === 'string' && p.id !== '')
    .map((p) => keys.jobStatus(p.id as string, typeof p.prefix === 'string' ? p.prefix : ''));
}
