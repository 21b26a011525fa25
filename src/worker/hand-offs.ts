/**
 * The receiving end of hand-offs (enqueue.lua): jobs handed to this worker arrive as messages on
 * its channel, their entries already in its in-flight list (token `h<n>`); a `w` message means
 * "reserve now".
 *
 * A message is lost only with the subscriber's connection, so after it reconnects, and every
 * heartbeat interval in case a connection died without a word, the worker looks for hand-off
 * entries in its list that it does not hold (its strays) and runs them. While it looks, the worker
 * sends no round trip and puts nothing back, or an entry gone meanwhile would look lost.
 */
import type { Logger } from '../log.ts';
import type { ResqueKeys } from '../redis/keys.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';

/** First byte of a message that hands off a job (`e<entry>`); any other message means "reserve". */
const HAND_OFF_MESSAGE = 0x65; // 'e'
const HAND_OFF_TOKEN = 0x68; // 'h': reserve tokens are hex, so never start with it
/** How long the subscriber may take to answer a PING before its connection is taken for dead. */
const PING_TIMEOUT_MS = 5000;

/** What the worker lends its hand-offs. */
export interface HandOffHost {
  readonly redis: ScriptedRedis;
  readonly subscriber: ScriptedRedis;
  readonly keys: ResqueKeys;
  readonly id: string;
  readonly log: Logger;
  running(): boolean;
  /** Paused, or its loop is still putting back and recording for a pause: no look now. */
  paused(): boolean;
  /** The round trip in flight, if any: a look waits for it. */
  roundTrip(): Promise<void> | null;
  /** Every entry the worker holds: prefetched, running, and finished but not yet recorded. */
  held(): Iterable<Buffer>;
  /** An entry (already in the in-flight list) to run as a prefetched one. */
  adopt(entry: Buffer): void;
  /** Reserve now; `freshRoom`: the worker now holds every job handed to it (reserve.lua ARGV[7]). */
  reserveNow(freshRoom: boolean): void;
  /** Wake the loop without lifting a hold. */
  notify(): void;
  /** Retries a step that must happen until Redis accepts it. */
  retrying(what: string, step: () => Promise<unknown>): Promise<void>;
}

export class HandOffs {
  #look: Promise<void> | null = null;
  /** Another look is due when the one running ends (or at resume). */
  #lookAgain = false;
  #timer: NodeJS.Timeout | null = null;
  /** Left the idle set (paused or stopping): enqueues hand this worker nothing. */
  #leftIdleSet = false;

  constructor(private readonly host: HandOffHost) {}

  /** True while a look runs: the worker sends no round trip meanwhile. */
  get looking(): boolean {
    return this.#look !== null;
  }

  /** The look in progress, to wait for before putting jobs back. */
  settled(): Promise<void> | null {
    return this.#look;
  }

  /** Subscribes to the worker's channel: only after it registered (see Worker.start). */
  async listen(everyMs: number): Promise<void> {
    const { subscriber } = this.host;
    subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => this.#onMessage(message));
    await subscriber.subscribe(this.host.keys.workerChannel(this.host.id));
    // From now on a 'ready' is a reconnect, which may have lost messages.
    subscriber.on('ready', () => this.look('reconnect'));
    this.#timer = setInterval(() => this.look('periodic'), everyMs);
    this.#timer.unref();
  }

  stopListening(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Pausing or stopping: no more hand-offs (one already sent is put back with the prefetched). */
  async leaveIdleSet(): Promise<void> {
    if (this.#leftIdleSet) return;
    const { redis, keys, id } = this.host;
    await this.host.retrying('leave idle set', () => redis.zrem(keys.idleWorkers, id));
    this.#leftIdleSet = true;
  }

  /**
   * The worker's loop is done with a pause and runs again (called from the loop, after any
   * leaveIdleSet of the pause returned): its next reserve that drains the queues joins the idle
   * set again; a look put off runs.
   */
  resumed(): void {
    this.#leftIdleSet = false;
    if (this.#lookAgain) {
      this.#lookAgain = false;
      this.look('resume');
    }
  }

  #onMessage(message: Buffer): void {
    if (message[0] === HAND_OFF_MESSAGE) {
      this.host.adopt(message.subarray(1));
      this.host.notify();
    } else {
      this.host.reserveNow(true);
    }
  }

  /** Runs hand-offs whose messages were lost. Not while paused (resume looks): see the header. */
  look(why: 'reconnect' | 'periodic' | 'resume'): void {
    if (!this.host.running()) return;
    if (this.#look || this.host.paused()) {
      this.#lookAgain = true;
      return;
    }
    this.#look = this.#adoptStrays().finally(() => {
      this.#look = null;
      // After a reconnect, reserve at once with a fresh count of its room (it now holds every
      // entry in its list): Redis may have restarted and forgotten the idle set, or a 'w' was lost.
      if (why === 'periodic') this.host.notify();
      else this.host.reserveNow(true);
      if (this.#lookAgain) {
        this.#lookAgain = false;
        this.look('reconnect');
      }
    });
  }

  async #adoptStrays(): Promise<void> {
    const { host } = this;
    // Redis away: the look would only fail (and say so every time); the reconnect brings one.
    if (host.redis.status !== 'ready') return;
    try {
      await host.roundTrip();
      const strays = await findStrayHandOffs(
        host.redis,
        host.subscriber,
        host.keys.workerInflight(host.id),
        () => host.held(),
      );
      if (strays.length > 0) {
        host.log.warn(
          { event: 'worker.hand-offs-recovered', count: strays.length },
          'jobs handed to this worker while its subscriber reconnected: running them',
        );
        for (const entry of strays) host.adopt(entry);
      }
    } catch (err) {
      // The next reconnect or periodic look tries again; at a stop, unclaimed entries go back.
      host.log.warn(
        { event: 'worker.hand-off-check-failed', err: (err as Error).message },
        'could not look for lost hand-offs',
      );
    }
  }
}

/**
 * Hand-off entries in the in-flight list that are not among `held()` (evaluated at the end). The
 * caller must send no finish and put nothing back while this runs, or an entry gone meanwhile
 * would look lost. Rejects if the subscriber does not answer (and has it reconnect).
 */
async function findStrayHandOffs(
  redis: ScriptedRedis,
  subscriber: ScriptedRedis,
  inflightKey: string,
  held: () => Iterable<Buffer>,
): Promise<Buffer[]> {
  // Proves the subscription is live (a connection that died silently is replaced) before the list
  // is read, so any later hand-off's message reaches this worker.
  await pingWithin(subscriber);
  const list = await redis.lrangeBuffer(inflightKey, 0, -1);
  // An entry and its PUBLISH are one script, so every message for an entry in `list` went out
  // before this PING ran: once its reply is back, every such message that will arrive has.
  await pingWithin(subscriber);
  const mine = new Set<string>();
  for (const entry of held()) if (entry[0] === HAND_OFF_TOKEN) mine.add(entry.toString('latin1'));
  return list.filter((entry) => entry[0] === HAND_OFF_TOKEN && !mine.has(entry.toString('latin1')));
}

async function pingWithin(subscriber: ScriptedRedis): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      subscriber.disconnect(true); // reconnects; its 'ready' starts another look
      reject(new Error(`subscriber did not answer a PING within ${PING_TIMEOUT_MS} ms`));
    }, PING_TIMEOUT_MS);
  });
  try {
    await Promise.race([subscriber.ping(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
