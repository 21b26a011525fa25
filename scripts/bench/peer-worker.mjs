/**
 * Bench worker for the peers (node-resque, BullMQ, bee-queue), on bare Node (no tsx), each at the
 * settings the bench compares against: node-resque's default Worker, BullMQ and bee-queue at
 * concurrency 50 with their documented throughput options.
 */
import { runBenchWorker } from './recorder.mjs';

const PEER_CONCURRENCY = 50;

function redisAddress(url) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

const systems = {
  // Each loads only its own library, so its RSS is its own.
  'node-resque': async () => {
    const { Worker: ResqueWorker } = await import('node-resque');
    let worker;
    return {
      async init(record, cfg) {
        const jobs = { Noop: { perform: async (seq, t0) => record(seq, t0) } };
        worker = new ResqueWorker({ connection: redisAddress(cfg.redisUrl), queues: cfg.queues }, jobs);
        worker.on('error', (err) => console.error('node-resque worker error', err));
        await worker.connect();
      },
      go: () => {
        void worker.start();
      },
      stop: () => worker.end(),
    };
  },
  bullmq: async () => {
    const { Worker: BullWorker } = await import('bullmq');
    let workers;
    return {
      async init(record, cfg) {
        workers = cfg.queues.map(
          (q) =>
            new BullWorker(
              q,
              async (job) => {
                record(job.data.s, job.data.t);
              },
              {
                connection: { ...redisAddress(cfg.redisUrl), maxRetriesPerRequest: null },
                concurrency: cfg.concurrency ?? PEER_CONCURRENCY,
                autorun: false,
                removeOnComplete: { count: 0 },
              },
            ),
        );
        for (const w of workers) w.on('error', (err) => console.error('bullmq worker error', err));
        await Promise.all(workers.map((w) => w.waitUntilReady()));
      },
      go: () => {
        for (const w of workers) void w.run();
      },
      stop: () => Promise.all(workers.map((w) => w.close())),
    };
  },
  'bee-queue': async () => {
    const { default: BeeQueue } = await import('bee-queue');
    let queues;
    let concurrency;
    let rec;
    return {
      async init(record, cfg) {
        rec = record;
        concurrency = cfg.concurrency ?? PEER_CONCURRENCY;
        queues = cfg.queues.map(
          (q) =>
            new BeeQueue(q, {
              redis: { url: cfg.redisUrl },
              isWorker: true,
              getEvents: false,
              sendEvents: false,
              storeJobs: false,
              removeOnSuccess: true,
            }),
        );
        await Promise.all(queues.map((q) => q.ready()));
      },
      go: () => {
        for (const q of queues) q.process(concurrency, async (job) => rec(job.data.s, job.data.t));
      },
      stop: () => Promise.all(queues.map((q) => q.close())),
    };
  },
};

const name = JSON.parse(process.env.BENCH_WORKER ?? '{}').system;
const make = systems[name];
if (!make) throw new Error(`unknown peer system ${name}`);
await runBenchWorker(await make());
