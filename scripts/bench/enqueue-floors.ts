/**
 * Reference points for the one-at-a-time enqueue, not job systems: the least a Resque push can do
 * in one awaited round trip (an EVALSHA of SADD queues + RPUSH payload, the payload built as ours
 * is), through each client library the systems use: ioredis (ours, BullMQ) and node-redis 3
 * (bee-queue's, resolved from bee-queue so it is the very copy bee-queue runs). A system can only
 * come near the floor of its own client; the two floors side by side show what the client
 * libraries themselves cost.
 */
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { buildPayload, newJobId } from '../../src/jobs/payload.ts';
import { resqueKeys } from '../../src/redis/keys.ts';
import type { Producer } from './producers.ts';

export const ENQUEUE_FLOORS = ['floor-ioredis', 'floor-node-redis'] as const;
export type FloorName = (typeof ENQUEUE_FLOORS)[number];

const PUSH_LUA = "redis.call('SADD', KEYS[1], ARGV[1])\nreturn redis.call('RPUSH', KEYS[2], ARGV[2])";

type FloorProducer = Pick<Producer, 'enqueueOne' | 'counters' | 'close'>;

export function floorFor(name: FloorName, redisUrl: string): Promise<FloorProducer> {
  return name === 'floor-ioredis' ? ioredisFloor(redisUrl) : nodeRedisFloor(redisUrl);
}

const k = resqueKeys();
const payloadOf = (seq: number, t0: number) => buildPayload('Noop', [seq, t0], newJobId());

async function ioredisFloor(redisUrl: string): Promise<FloorProducer> {
  const redis = new Redis(redisUrl).on('error', () => {});
  const push = (await redis.script('LOAD', PUSH_LUA)) as string;
  return {
    enqueueOne: (q, seq, t0) => redis.evalsha(push, 2, k.queues, k.queue(q), q, payloadOf(seq, t0)),
    counters: async ([q]) => ({ processed: null, failed: 0, left: await redis.llen(k.queue(q!)) }),
    close: async () => void redis.disconnect(),
  };
}

/** The slice of node-redis 3's callback API used here. */
interface NodeRedis3 {
  on(event: string, listener: (...args: unknown[]) => void): NodeRedis3;
  send_command(
    command: string,
    args: (string | number)[],
    cb: (err: Error | null, reply: unknown) => void,
  ): void;
  evalsha(...argsThenCallback: unknown[]): boolean;
  quit(cb: () => void): void;
}

const fromBeeQueue = () => createRequire(createRequire(import.meta.url).resolve('bee-queue'));

/** The version of the node-redis that bee-queue runs. */
export function nodeRedisVersion(): string {
  return (fromBeeQueue()('redis/package.json') as { version: string }).version;
}

async function nodeRedisFloor(redisUrl: string): Promise<FloorProducer> {
  const { createClient } = fromBeeQueue()('redis') as { createClient(o: { url: string }): NodeRedis3 };
  const client = createClient({ url: redisUrl });
  client.on('error', () => {});
  const call = (command: string, args: (string | number)[]) =>
    new Promise<unknown>((resolve, reject) =>
      client.send_command(command, args, (err, reply) => (err ? reject(err) : resolve(reply))),
    );
  const push = (await call('SCRIPT', ['LOAD', PUSH_LUA])) as string;
  return {
    // The call as bee-queue makes it: client.evalsha(sha, ...args, callback).
    enqueueOne: (q, seq, t0) =>
      new Promise((resolve, reject) =>
        client.evalsha(
          push,
          2,
          k.queues,
          k.queue(q),
          q,
          payloadOf(seq, t0),
          (err: Error | null, n: unknown) => (err ? reject(err) : resolve(n)),
        ),
      ),
    counters: async ([q]) => ({
      processed: null,
      failed: 0,
      left: Number(await call('LLEN', [k.queue(q!)])),
    }),
    close: () => new Promise<void>((resolve) => client.quit(() => resolve())),
  };
}
