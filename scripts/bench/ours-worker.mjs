/**
 * Bench worker for resque-worker: one Worker per process, set up as `resque-worker work` sets it
 * up (pino logger on stdout, every guarantee on: reserve into the in-flight list, Resque
 * bookkeeping, stats), and run as the daemon runs: the compiled dist/ on bare Node, or for
 * 'ours-tsx' src/ through bin/tsx.mjs (the daemon's fallback when dist/ is not built), or for
 * 'ours-base' another checkout's dist/ (bench --baseline). Plain JS, so one file serves all three.
 */
import { pathToFileURL } from 'node:url';
import { runBenchWorker, settings } from './recorder.mjs';

const { system, distDir } = settings();
const root =
  system === 'ours-base'
    ? pathToFileURL(`${distDir}/`)
    : new URL(system === 'ours-tsx' ? '../../src/' : '../../dist/', import.meta.url);
const ext = system === 'ours-tsx' ? 'ts' : 'js';
const lib = (path) => import(new URL(`${path}.${ext}`, root).href);
const [{ JobRegistry }, { createLogger }, { Worker }, { collectStartupGarbage }] = await Promise.all([
  lib('jobs/job-registry'),
  lib('log'),
  lib('worker/worker'),
  lib('worker/worker-process'),
]);

let worker;

await runBenchWorker({
  async init(record, cfg) {
    const registry = new JobRegistry().register({
      Noop(seq, t0) {
        record(seq, t0);
      },
    });
    worker = new Worker({
      redisUrl: cfg.redisUrl,
      queues: cfg.queues,
      registry,
      ...(cfg.concurrency ? { concurrency: cfg.concurrency } : {}),
      prefetch: cfg.prefetch,
      logger: createLogger(cfg.logLevel, { role: 'worker' }),
      setProcessTitle: true,
    });
    await worker.redis.ping();
    collectStartupGarbage(); // as the supervisor's worker child does before it starts
  },
  go: () => worker.start(),
  stop: () => worker.stop(),
});
