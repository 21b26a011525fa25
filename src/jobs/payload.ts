/**
 * Resque payloads and records as JSON text: building ours, reading anyone's. Records embed the
 * payload byte for byte (peers match jobs by exact JSON), so they are built by concatenation.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { isNativeError } from 'node:util/types';
import { jsonObjectOrText } from '../util/json-object-or-text.ts';
import { jsonArgs } from './json-args.ts';

/** A payload as we write it: Ruby's two fields plus php-resque's id and queue_time. */
export interface Payload {
  class: string;
  args: unknown[];
  id?: string;
  prefix?: string;
  queue_time?: number;
  [extra: string]: unknown;
}

/**
 * The job id and class a payload names, read without validating it: for the log line of a job
 * whose payload was rejected (its args not an array, say) or that goes back to its queue.
 */
export function payloadNames(raw: string): { jobId?: string; className?: string } {
  const p = jsonObjectOrText<{ id?: unknown; class?: unknown }>(raw);
  if (typeof p === 'string') return {};
  const { id, class: cls } = p;
  return {
    jobId: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined,
    className: typeof cls === 'string' ? cls : undefined,
  };
}

export class InvalidPayloadError extends Error {
  override name = 'InvalidPayload';
}

// Ids are cut from a pool of random bytes: one randomBytes call per id cost ~3 µs, as much as
// building the payload, on the one-job enqueue path.
const ID_POOL_BYTES = 16 * 256;
let idPool = Buffer.alloc(0);
let idPoolAt = 0;

/** 32 hex digits (128 random bits, from the OS CSPRNG). */
export function newJobId(): string {
  if (idPoolAt >= idPool.length) {
    idPool = randomBytes(ID_POOL_BYTES);
    idPoolAt = 0;
  }
  const id = idPool.toString('hex', idPoolAt, idPoolAt + 16);
  idPoolAt += 16;
  return id;
}

export function buildPayload(className: string, args: unknown[], id = newJobId()): string {
  if (typeof className !== 'string' || className === '')
    throw new TypeError('job class name must be a non-empty string');
  if (!Array.isArray(args)) throw new TypeError(`args of ${className} must be an array`);
  const payload = JSON.stringify({
    class: className,
    args: jsonArgs(className, args),
    id,
    queue_time: Date.now() / 1000,
  });
  return payload;
}

/**
 * A scheduled job as resque-scheduler stores it, `{"class","args","queue"}`, with our id: when it
 * is due, these bytes become its payload (schedule.lua), queue field and all, as node-resque's are.
 */
export function buildScheduledItem(className: string, args: unknown[], queue: string, id: string): string {
  if (typeof className !== 'string' || className === '')
    throw new TypeError('job class name must be a non-empty string');
  if (!Array.isArray(args)) throw new TypeError(`args of ${className} must be an array`);
  return JSON.stringify({ class: className, args: jsonArgs(className, args), queue, id });
}

/** Parses and checks a payload taken from a queue; the message says exactly what is wrong. */
export function parsePayload(raw: string): Payload {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (e) {
    throw new InvalidPayloadError(`payload is not JSON (${(e as Error).message}): ${excerpt(raw)}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new InvalidPayloadError(`payload is not a JSON object: ${excerpt(raw)}`);
  }
  const p = data as Record<string, unknown>;
  if (typeof p.class !== 'string' || p.class === '') {
    throw new InvalidPayloadError(`payload has no "class" string: ${excerpt(raw)}`);
  }
  if (p.args === undefined || p.args === null) p.args = [];
  if (!Array.isArray(p.args)) {
    throw new InvalidPayloadError(`payload "args" of ${p.class} is not an array: ${excerpt(raw)}`);
  }
  if (p.id !== undefined && typeof p.id !== 'string') p.id = String(p.id);
  return p as Payload;
}

function excerpt(raw: string): string {
  return raw.length > 200
    ? `${JSON.stringify(raw.slice(0, 200))}... (${raw.length} bytes)`
    : JSON.stringify(raw);
}

/** The payload as it sits in a record: raw when it is a JSON object, else as a JSON string. */
function embeddable(raw: string, valid: boolean): string {
  return valid ? raw : JSON.stringify(raw);
}

export interface FailureInfo {
  exception: string;
  error: string;
  backtrace: string[];
}

/** A worker record's `run_at`, as Ruby writes it: ISO 8601 UTC to the second. */
export function runAtNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Ruby's `failed_at`: `2026/01/12 20:23:55 UTC` (resque-web parses it with DateTime.parse). */
export function rubyFailedAt(date = new Date()): string {
  const iso = date.toISOString(); // 2026-01-12T20:23:55.123Z
  return `${iso.slice(0, 10).replaceAll('-', '/')} ${iso.slice(11, 19)} UTC`;
}

/** A failure record in Ruby's Resque::Failure::Redis form. */
export function buildFailureRecord(opts: {
  rawPayload: string;
  payloadIsObject: boolean;
  failure: FailureInfo;
  workerId: string;
  queue: string;
  failedAt?: Date;
}): string {
  return (
    `{"failed_at":${JSON.stringify(rubyFailedAt(opts.failedAt))}` +
    `,"payload":${embeddable(opts.rawPayload, opts.payloadIsObject)}` +
    `,"exception":${JSON.stringify(opts.failure.exception)}` +
    `,"error":${JSON.stringify(opts.failure.error)}` +
    `,"backtrace":${JSON.stringify(opts.failure.backtrace)}` +
    `,"worker":${JSON.stringify(opts.workerId)}` +
    `,"queue":${JSON.stringify(opts.queue)}}`
  );
}

/**
 * Turns anything thrown into Resque's exception / error / backtrace triple, of strings only, so the
 * failure record always encodes: a job's error may have a BigInt or undefined message, a stack
 * that is not a string, getters that throw, or come from another realm (`vm`). Never throws.
 */
export function describeError(err: unknown): FailureInfo {
  if (err instanceof Error || isNativeError(err)) {
    const e = err as Error;
    const stack = readField(() => e.stack);
    const frames = stack
      .split('\n')
      .slice(1)
      .map((l) => l.trim().replace(/^at /, ''))
      .filter(Boolean);
    const name = readField(() => e.name);
    const exception = name && name !== 'Error' ? name : readField(() => e.constructor?.name) || 'Error';
    return { exception, error: readField(() => e.message), backtrace: frames };
  }
  let shown: string;
  try {
    shown = typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
  } catch {
    shown = readField(() => err);
  }
  return { exception: 'NonErrorThrown', error: `job threw a non-Error value: ${shown}`, backtrace: [] };
}

/** A field of a thrown value as text; '' when absent or unreadable. */
function readField(read: () => unknown): string {
  try {
    const v = read();
    return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
  } catch {
    return '';
  }
}

let hostName: string | undefined;
export function host(): string {
  hostName ??= hostname();
  return hostName;
}
