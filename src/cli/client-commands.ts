/**
 * Shell access to the client: `enqueue <queue> <Class> [json-arg ...] [--track]` prints the job id;
 * `status <id>` prints its status. Args are JSON when they parse as JSON, else plain strings; one
 * that starts like a JSON array or object must be one (a typo is refused, not sent as text).
 */
import { ResqueClient } from '../client/client.ts';
import { loadConfig } from '../config/load-config.ts';
import { mayLoseDigits } from '../util/json-numbers.ts';
import { configFile, noMorePositionals, overridesFrom, parseCommon, UsageError } from './args.ts';

export const ENQUEUE_USAGE = `usage: resque-worker enqueue <queue> <Class> [json-arg ...] [--track] [--in S | --at TIME] [--redis URL] [--namespace NS] [--config FILE]
  Prints the job id. Each json-arg is JSON when it parses (1, true, null, [1,2], {"a":1}, '"42"'),
  else plain text; one that starts with [ or { must be valid JSON. Args after -- are never flags.
  --track   php-resque status tracking: resque-worker status <id> follows the job
  --in S    run it S seconds from now; --at TIME: at that time (ISO 8601, e.g. 2026-12-01T09:00:00Z)`;

export const STATUS_USAGE = `usage: resque-worker status <job-id> [--json] [--redis URL] [--namespace NS] [--config FILE]
  A job's status: waiting, running, failed, complete (exit 0) or unknown (exit 1); --json with
  its result. Without a job id: the running pool (see resque-worker pause --help).`;

/** Ten years: later is a typo (--in 1e20), not a schedule. */
const MAX_DELAY_S = 10 * 365 * 86400;
/**
 * ISO 8601 / RFC 3339 with a date, a time and a zone, as people and `date` write it:
 * 2026-12-01T09:00:00Z, 2026-12-01 09:00:00+00:00 (--rfc-3339), 2026-12-01T09:00:00+0100 (%z),
 * ,fraction (-Ins), +01, lowercase t and z.
 */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?([Zz]|[+-]\d{2}(?::?\d{2})?)$/;

/** The time ISO_TIME matched, in unix ms; NaN for a date or time that does not exist (Feb 30). */
function isoTimeMs(m: RegExpExecArray): number {
  const [, y, mo, d, h, mi, s = '00', frac = '', zone = 'Z'] = m;
  const offset = /^[Zz]$/.test(zone) ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3).replace(':', '') || '00'}`;
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${frac.padEnd(3, '0').slice(0, 3)}${offset}`);
  // Date.parse rolls 2026-02-30 over to March 2; it must name a day that exists.
  return new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDate() === Number(d)
    ? ms
    : Number.NaN;
}

/** --in S or --at TIME as unix ms; null for neither (enqueue now). */
function scheduledTime(inSeconds: string | undefined, at: string | undefined): number | null {
  if (inSeconds !== undefined && at !== undefined) throw new UsageError('enqueue: --in or --at, not both');
  if (inSeconds !== undefined) {
    const s = Number(inSeconds);
    if (inSeconds.trim() === '' || !Number.isFinite(s) || s < 0 || s > MAX_DELAY_S)
      throw new UsageError(
        `enqueue: --in takes seconds from 0 to ${MAX_DELAY_S}, got ${JSON.stringify(inSeconds)}`,
      );
    return Date.now() + s * 1000;
  }
  if (at === undefined) return null;
  const m = ISO_TIME.exec(at);
  const ms = m ? isoTimeMs(m) : Number.NaN;
  if (Number.isNaN(ms))
    throw new UsageError(
      `enqueue: --at takes a date and time with its zone, as 2026-12-01T09:00:00Z or 2026-12-01 10:00:00+01:00; got ${JSON.stringify(at)}`,
    );
  return ms;
}

/** A command-line argument as a job argument: JSON when it is JSON, else the text itself. */
export function jobArgument(text: string, n: number): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (/^\s*[[{"]/.test(text))
      throw new UsageError(
        `enqueue: argument ${n} looks like JSON but is not: ${(err as Error).message} (${JSON.stringify(text)})`,
      );
    return text;
  }
  if (mayLoseDigits(text))
    throw new UsageError(
      `enqueue: argument ${n} holds a number JSON cannot carry exactly (16 digits or more, or out of range): quote it as a string (${JSON.stringify(text)})`,
    );
  return value;
}

export function clientFrom(argv: string[], extra: Record<string, { type: 'boolean' | 'string' }> = {}) {
  const { values, positionals } = parseCommon(argv, extra);
  const config = loadConfig({ file: configFile(values), overrides: overridesFrom(values) });
  const client = new ResqueClient({ redisUrl: config.redis.url, namespace: config.redis.namespace });
  return { client, config, positionals, values: values as Record<string, unknown> };
}

export async function enqueueCommand(argv: string[]): Promise<number> {
  const { client, positionals, values } = clientFrom(argv, {
    track: { type: 'boolean' },
    in: { type: 'string' },
    at: { type: 'string' },
  });
  try {
    const [queue, className, ...rest] = positionals;
    if (!queue || !className)
      throw new UsageError(`enqueue: a queue and a job class are needed\n${ENQUEUE_USAGE}`);
    const args = rest.map((a, i) => jobArgument(a, i + 1));
    const options = { trackStatus: values.track === true };
    const at = scheduledTime(values.in as string | undefined, values.at as string | undefined);
    console.log(
      at === null
        ? await client.enqueue(queue, className, args, options)
        : await client.enqueueAt(at, queue, className, args, options),
    );
    return 0;
  } finally {
    await client.close();
  }
}

export async function statusCommand(argv: string[]): Promise<number> {
  const { client, positionals, values } = clientFrom(argv, { json: { type: 'boolean' } });
  try {
    const [id] = positionals;
    if (!id) throw new UsageError(`status: a job id is needed\n${STATUS_USAGE}`);
    noMorePositionals('status', positionals, 1);
    const status = await client.status(id);
    console.log(values.json ? JSON.stringify(status) : status.status);
    return status.status === 'unknown' ? 1 : 0;
  } finally {
    await client.close();
  }
}
