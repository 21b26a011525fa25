/**
 * The bench's side of each system: enqueue one job (awaited), enqueue many in the system's bulk
 * API, and read the system's own counters to check that nothing failed or was left behind.
 * Jobs carry `seq` (index into the exactly-once table) and `t0` (enqueue time on the monotonic
 * clock, 0 when latency is not measured).
 */
import BeeQueue from 'bee-queue';
import { Queue as BullQueue } from 'bullmq';
import { Queue as ResqueQueue } from 'node-resque';
import { ResqueClient } from '../../src/client/client.ts';
import { resqueKeys } from '../../src/redis/keys.ts';

export type SystemName =
  | 'ours'
  | 'ours-warn'
  | 'ours-c1'
  | 'ours-p0'
  | 'ours-tsx'
  | 'ours-base'
  | 'node-resque'
  | 'bullmq'
  | 'bee-queue';

export interface Counters {
  /** Jobs the system counts as processed, or null when it keeps no such count at these settings. */
  processed: number | null;
  failed: number;
  /** Jobs still waiting or active. */
  left: number;
}

export interface Producer {
  enqueueOne(queue: string, seq: number, t0: number): Promise<unknown>;
  enqueueBulk(queue: string, from: number, count: number): Promise<unknown>;
  counters(queues: readonly string[]): Promise<Counters>;
  close(): Promise<void>;
}

function address(url: string) {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port) };
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

export async function ours(redisUrl: string): Promise<Producer> {
  const client = new ResqueClient({ redisUrl });
  const k = resqueKeys();
  return {
    enqueueOne: (q, seq, t0) => client.enqueue(q, 'Noop', [seq, t0]),
    enqueueBulk: (q, from, count) =>
      client.enqueueMany(
        q,
        range(from, count).map((s) => ({ className: 'Noop', args: [s, 0] })),
      ),
    async counters(queues) {
      const r = client.redis;
      const [processed, failed, ...lens] = await Promise.all([
        r.get(k.statProcessed),
        r.get(k.statFailed),
        ...queues.map((q) => r.llen(k.queue(q))),
      ]);
      return { processed: Number(processed ?? 0), failed: Number(failed ?? 0), left: sum(lens) };
    },
    close: () => client.close(),
  };
}

export async function nodeResque(redisUrl: string): Promise<Producer> {
  const queue = new ResqueQueue({ connection: address(redisUrl) }, {});
  queue.on('error', (err) => console.error('node-resque queue error', err));
  await queue.connect();
  return {
    enqueueOne: (q, seq, t0) => queue.enqueue(q, 'Noop', [seq, t0]),
    // node-resque has no bulk enqueue: many calls in flight at once (pipelined on one connection).
    async enqueueBulk(q, from, count) {
      for (let i = 0; i < count; i += 5000) {
        await Promise.all(
          range(from + i, Math.min(5000, count - i)).map((s) => queue.enqueue(q, 'Noop', [s, 0])),
        );
      }
    },
    async counters(queues) {
      const stats = (await queue.stats()) as Record<string, string>;
      const lens = await Promise.all(queues.map((q) => queue.length(q)));
      return { processed: Number(stats.processed ?? 0), failed: Number(stats.failed ?? 0), left: sum(lens) };
    },
    close: () => queue.end(),
  };
}

export async function bullmq(redisUrl: string): Promise<Producer> {
  const queues = new Map<string, BullQueue>();
  const get = (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new BullQueue(name, { connection: { ...address(redisUrl), maxRetriesPerRequest: null } });
      q.on('error', (err) => console.error('bullmq queue error', err));
      queues.set(name, q);
    }
    return q;
  };
  return {
    enqueueOne: (q, s, t) => get(q).add('Noop', { s, t }),
    enqueueBulk: (q, from, count) =>
      get(q).addBulk(range(from, count).map((s) => ({ name: 'Noop', data: { s, t: 0 } }))),
    async counters(names) {
      let failed = 0;
      let left = 0;
      for (const name of names) {
        const c = await get(name).getJobCounts('failed', 'wait', 'active', 'delayed', 'prioritized');
        failed += c.failed ?? 0;
        left += (c.wait ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0);
      }
      return { processed: null, failed, left };
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

export async function beeQueue(redisUrl: string): Promise<Producer> {
  const queues = new Map<string, BeeQueue>();
  const get = async (name: string) => {
    let q = queues.get(name);
    if (!q) {
      q = new BeeQueue(name, { redis: { url: redisUrl } as never, isWorker: false, getEvents: false });
      queues.set(name, q);
    }
    await q.ready();
    return q;
  };
  return {
    enqueueOne: async (q, s, t) => (await get(q)).createJob({ s, t }).save(),
    async enqueueBulk(q, from, count) {
      const queue = await get(q);
      const errors = await queue.saveAll(range(from, count).map((s) => queue.createJob({ s, t: 0 })));
      if (errors.size > 0) throw new Error(`bee-queue saveAll: ${errors.size} jobs not saved`);
    },
    async counters(names) {
      let failed = 0;
      let left = 0;
      for (const name of names) {
        const h = await (await get(name)).checkHealth();
        failed += h.failed;
        left += h.waiting + h.active + h.delayed;
      }
      return { processed: null, failed, left };
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

export function producerFor(system: SystemName, redisUrl: string): Promise<Producer> {
  switch (system) {
    case 'ours':
    case 'ours-warn':
    case 'ours-c1':
    case 'ours-p0':
    case 'ours-tsx':
    case 'ours-base':
      return ours(redisUrl);
    case 'node-resque':
      return nodeResque(redisUrl);
    case 'bullmq':
      return bullmq(redisUrl);
    case 'bee-queue':
      return beeQueue(redisUrl);
  }
}

function sum(xs: (number | string | null)[]): number {
  return xs.reduce<number>((a, b) => a + Number(b ?? 0), 0);
}
