/**
 * Every Redis key this project reads or writes, in one place: this file is the wire-compatibility
 * contract with Ruby Resque, php-resque and node-resque (see README, "Wire format").
 * No other TypeScript module spells a key name. enqueue.lua names the `rw:*`, worker and
 * pause keys from `prefix` itself, spelling them as below (its header lists them; a unit test in
 * keys.test.ts holds the two together).
 */

export interface ResqueKeys {
  readonly namespace: string;
  /** `<namespace>:` (or '' for no namespace): what every key here starts with. */
  readonly prefix: string;
  /** SET of queue names; SADD with every push. */
  readonly queues: string;
  /** LIST of payload JSON; RPUSH to enqueue, consumers take from the left. */
  queue(name: string): string;
  /** SET of worker ids `host:pid:q1,q2`. */
  readonly workers: string;
  /** STRING: what the worker is doing, `{"queue","run_at","payload","worker"}` (`worker`: host:pid). */
  worker(id: string): string;
  /** STRING: when the worker started (ISO 8601). */
  workerStarted(id: string): string;
  /** HASH worker id -> ISO 8601 time of its last heartbeat. */
  readonly heartbeats: string;
  readonly statProcessed: string;
  readonly statFailed: string;
  workerStatProcessed(id: string): string;
  workerStatFailed(id: string): string;
  /** LIST of failure records (Ruby's Resque::Failure::Redis format). */
  readonly failed: string;
  /** STRING "true" pauses every Ruby worker (and ours). */
  readonly pauseAllWorkers: string;
  /** STRING: php-resque job status JSON; `prefix` is the payload's prefix field. */
  jobStatus(id: string, prefix?: string): string;
  /** `jobStatus` without id and suffix, for Lua scripts that derive a status key from a payload. */
  readonly jobStatusPrefix: string;
  /** `queue()` without the name, for Lua scripts. */
  readonly queuePrefix: string;

  // ---- our extensions; peers ignore them ----
  /** LIST: jobs this worker holds in flight, entries `<token>#<n>\0<run_at>\0<queue>\0<payload>`. */
  workerInflight(id: string): string;
  /** STRING: token of the worker's last reservation, to make a re-sent reserve idempotent. */
  workerLastReserve(id: string): string;
  /**
   * ZSET worker id -> jobs it can take now, for workers whose queues are drained: an enqueue hands
   * a job straight to the one with the most room (see enqueue.lua), or wakes them.
   */
  readonly idleWorkers: string;
  /**
   * PUBSUB channel of one worker: `e<in-flight entry>` hands it a job that enqueue.lua already put
   * in its in-flight list; `w` tells it to reserve now.
   */
  workerChannel(id: string): string;
  /** STRING counter: makes the in-flight entries of handed-off jobs unique (`h<n>#1`). */
  readonly handOffSeq: string;
  /** STRING counter (24 h TTL): times a job was in flight on a worker that died (poison-job limit). */
  readonly recoveredPrefix: string;
  /** STRING with TTL: lock held by the supervisor that prunes dead workers. */
  readonly pruneLock: string;
  /** STRING: set for a pruneInterval by a periodic prune, so that other processes skip theirs. */
  readonly pruneRecent: string;
  /**
   * HASH worker id -> `{"host","pidns","pid","beat"}` of OUR workers (beat: Redis TIME, unix s).
   * Marks a worker id as ours, so our pruner may judge it by its pid on this host; Ruby's prune
   * does not know this key, so it also survives a peer unregistering one of our workers.
   */
  readonly ourWorkers: string;
  /**
   * HASH `[name, pattern, zone]` (JSON) of a recurring job -> unix s of the last run handled:
   * enqueued, skipped as missed, or where the job started (scheduler.schedule, recur.lua).
   */
  readonly recurringLastRuns: string;
  /** ZSET timestamp -> timestamp (unix s) with scheduled jobs due then (resque-scheduler). */
  readonly delayedSchedule: string;
  /** LIST of the items `{"class","args","queue"[,"id"]}` due at a timestamp (resque-scheduler). */
  delayed(timestamp: number | string): string;
  /**
   * SET of the `delayed:<timestamp>` keys holding an item, by its JSON (resque-scheduler). Its
   * members are `delayedMember`s: Ruby's writes them without the namespace.
   */
  delayedTimestamps(item: string): string;
  /** A member of a `delayedTimestamps` set: `delayed:<timestamp>`, with no namespace, as Ruby writes it. */
  delayedMember(timestamp: number | string): string;
  /**
   * STRING: held by Ruby's resque-scheduler while it moves due jobs (its master lock). Older ones
   * name it `<ns>:resque_scheduler_master_lock`; newer ones spell the namespace into the name and
   * their namespaced client adds it again: `<ns>:<ns>:resque_scheduler_master_lock`.
   */
  readonly rubySchedulerLocks: readonly [string, string];
}

export const DEFAULT_NAMESPACE = 'resque';

export function resqueKeys(namespace: string = DEFAULT_NAMESPACE): ResqueKeys {
  const p = namespace === '' ? '' : `${namespace}:`;
  return {
    namespace,
    prefix: p,
    queues: `${p}queues`,
    queue: (name) => `${p}queue:${name}`,
    workers: `${p}workers`,
    worker: (id) => `${p}worker:${id}`,
    workerStarted: (id) => `${p}worker:${id}:started`,
    heartbeats: `${p}workers:heartbeat`,
    statProcessed: `${p}stat:processed`,
    statFailed: `${p}stat:failed`,
    workerStatProcessed: (id) => `${p}stat:processed:${id}`,
    workerStatFailed: (id) => `${p}stat:failed:${id}`,
    failed: `${p}failed`,
    pauseAllWorkers: `${p}pause-all-workers`,
    jobStatus: (id, prefix) => `${p}job:${prefix ? `${prefix}_` : ''}${id}:status`,
    jobStatusPrefix: `${p}job:`,
    queuePrefix: `${p}queue:`,
    workerInflight: (id) => `${p}worker:${id}:inflight`,
    workerLastReserve: (id) => `${p}worker:${id}:last-reserve`,
    idleWorkers: `${p}rw:idle`,
    workerChannel: (id) => `${p}rw:worker:${id}`,
    handOffSeq: `${p}rw:hand-off-seq`,
    recoveredPrefix: `${p}rw:recovered:`,
    pruneLock: `${p}rw:prune-lock`,
    pruneRecent: `${p}rw:prune-recent`,
    ourWorkers: `${p}rw:workers`,
    recurringLastRuns: `${p}rw:recurring`,
    delayedSchedule: `${p}delayed_queue_schedule`,
    delayed: (timestamp) => `${p}delayed:${timestamp}`,
    delayedTimestamps: (item) => `${p}timestamps:${item}`,
    delayedMember: (timestamp) => `delayed:${timestamp}`,
    rubySchedulerLocks: [`${p}resque_scheduler_master_lock`, `${p}${p}resque_scheduler_master_lock`],
  };
}
