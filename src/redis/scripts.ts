/**
 * The Lua scripts, loaded once from `lua/*.lua` and registered on a connection with ioredis
 * `defineCommand` (EVALSHA, falling back to EVAL after a Redis restart flushed the script cache).
 * A line `-- @include name` splices in `lua/<name>.lib.lua`, so shared helpers have one source.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

const LUA_DIR = new URL('./lua/', import.meta.url);

export interface ScriptDef {
  /** Fixed KEYS count, or undefined when the caller passes it first (variadic keys). */
  readonly numberOfKeys?: number;
}

/** Scripts and their key counts; the header of each file names its KEYS and ARGV. */
export const SCRIPTS = {
  enqueue: {},
  reserve: { numberOfKeys: 6 },
  finish: { numberOfKeys: 9 },
  heartbeat: { numberOfKeys: 4 },
  requeue: { numberOfKeys: 2 },
  recover: { numberOfKeys: 13 },
  'release-lock': { numberOfKeys: 1 },
  'retry-failure': {},
  schedule: { numberOfKeys: 3 },
  unschedule: { numberOfKeys: 3 },
  recur: { numberOfKeys: 4 },
} as const satisfies Record<string, ScriptDef>;

export type ScriptName = keyof typeof SCRIPTS;

const sources = new Map<ScriptName, string>();

export function scriptSource(name: ScriptName): string {
  let source = sources.get(name);
  if (source === undefined) {
    source = readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8').replace(
      /^-- @include ([\w-]+)$/gm,
      (_line, lib: string) => readFileSync(new URL(`${lib}.lib.lua`, LUA_DIR), 'utf8'),
    );
    sources.set(name, source);
  }
  return source;
}

/** Arguments are flattened by ioredis; variadic scripts take the number of keys first. */
export type ScriptArg = string | number | Buffer;

export interface ResqueScripts {
  enqueue(numKeys: number, ...args: ScriptArg[]): Promise<number>;
  /** Buffer variant: in-flight entries are matched byte for byte when they are finished. */
  reserveBuffer(...args: ScriptArg[]): Promise<Buffer[]>;
  /** finish.lua's reply: see its header. */
  finish(...args: ScriptArg[]): Promise<number | [number, number[], number[], number[]]>;
  heartbeat(...args: ScriptArg[]): Promise<[string, number]>;
  requeueBuffer(...args: ScriptArg[]): Promise<Buffer[]>;
  recover(...args: ScriptArg[]): Promise<[number, number, number, ...string[]]>;
  'release-lock'(key: string, token: string): Promise<number>;
  'retry-failure'(numKeys: number, ...args: ScriptArg[]): Promise<number>;
  schedule(...args: ScriptArg[]): Promise<[moved: number, failed: number, handled: number, ruby: number]>;
  unschedule(...args: ScriptArg[]): Promise<number>;
  recur(...args: ScriptArg[]): Promise<[claimed: 0 | 1 | 2, previous: number | null]>;
}

export type ScriptedRedis = Redis & ResqueScripts;

export function defineScripts(redis: Redis): ScriptedRedis {
  for (const [name, def] of Object.entries(SCRIPTS) as [ScriptName, ScriptDef][]) {
    if (typeof (redis as unknown as Record<string, unknown>)[name] === 'function') continue;
    redis.defineCommand(name, { lua: scriptSource(name), numberOfKeys: def.numberOfKeys });
  }
  return redis as ScriptedRedis;
}
