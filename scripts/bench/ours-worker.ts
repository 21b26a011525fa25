/**
 * Bench worker for resque-worker: one Worker per process, set up as `resque-worker work` sets it
 * up (pino logger on stdout, every guarantee on: reserve into the in-flight list, Resque
 * bookkeeping, stats), run through bin/tsx.mjs as the daemon runs through bin/resque-worker.mjs.
 */
import { JobRegistry } from '../../src/jobs/job-registry.ts';
import { createLogger } from '../../src/log.ts';
import { Worker } from '../../src/worker/worker.ts';
import { runBenchWorker } from './recorder.mjs';

let worker: Worker;

await runBenchWorker({
  async init(record, cfg) {
    const registry = new JobRegistry().register({
      Noop(seq: number, t0: number) {
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
  },
  go: () => worker.start(),
  stop: () => worker.stop(),
});
