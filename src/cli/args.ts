/**
 * Command-line flags shared by `work` and `start`, turned into config overrides. Flags win over
 * the config file and the environment.
 */
import { parseArgs } from 'node:util';
import type { ConfigOverrides } from '../config/load-config.ts';

export const COMMON_FLAGS = {
  config: { type: 'string', short: 'c' },
  queues: { type: 'string', short: 'q' },
  jobs: { type: 'string', short: 'j', multiple: true },
  redis: { type: 'string', short: 'r' },
  namespace: { type: 'string', short: 'n' },
  concurrency: { type: 'string' },
  prefetch: { type: 'string' },
  interval: { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type CommonValues = {
  config?: string;
  queues?: string;
  jobs?: string[];
  redis?: string;
  namespace?: string;
  concurrency?: string;
  prefetch?: string;
  interval?: string;
  'log-level'?: string;
};

type ExtraFlags = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
type CommonParseConfig<T extends ExtraFlags> = {
  args: string[];
  options: typeof COMMON_FLAGS & T;
  allowPositionals: true;
  strict: true;
};
// Spelled out because the inferred type names a type @types/node does not export, which the
// declaration emit of `npm run build` cannot write.
export type ParsedCommon<T extends ExtraFlags> = ReturnType<typeof parseArgs<CommonParseConfig<T>>>;

export function parseCommon<T extends ExtraFlags>(argv: string[], extra: T = {} as T): ParsedCommon<T> {
  return parseArgs({
    args: argv,
    options: { ...COMMON_FLAGS, ...extra },
    allowPositionals: true,
    strict: true,
  });
}

export function overridesFrom(v: CommonValues): ConfigOverrides {
  // Text that is not a number stays as typed, so the config error shows what was typed, not NaN.
  const num = (s: string | undefined) => (s === undefined || Number.isNaN(Number(s)) ? s : Number(s));
  return {
    redis: { url: v.redis, namespace: v.namespace },
    jobs: v.jobs?.flatMap((j) => j.split(',')).filter(Boolean),
    queues: v.queues?.split(',').map((q) => q.trim()),
    worker: { concurrency: num(v.concurrency), prefetch: num(v.prefetch), interval: num(v.interval) },
    log: { level: v['log-level'] },
  } as ConfigOverrides;
}

/** A command used wrongly (missing or extra arguments): exit 64, with the command's usage. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Refuses positional arguments beyond `max` (they would be ignored silently). */
export function noMorePositionals(command: string, positionals: string[], max = 0): void {
  if (positionals.length > max)
    throw new UsageError(`${command}: unexpected argument ${JSON.stringify(positionals[max])}`);
}

export function configFile(v: CommonValues): string | undefined {
  return v.config ?? process.env.RESQUE_WORKER_CONFIG;
}
