/**
 * The client's one error for "Redis did not answer": either nothing was written (Redis was
 * unreachable), or a write was sent and its reply lost, so it may or may not have happened.
 */
import { redisAddress } from '../redis/connection.ts';
import type { ScriptedRedis } from '../redis/scripts.ts';

export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailable';
}

/**
 * Sent, then Redis went away before it answered: `doing` (e.g. `the enqueue of 2 job(s) to "q"`)
 * may or may not have happened, as `outcome` says (e.g. `they may or may not have been queued`).
 */
export function lostWrite(
  redis: ScriptedRedis,
  doing: string,
  outcome: string,
  err: Error,
): RedisUnavailableError {
  const address = redisAddress(redis);
  // ioredis refuses a command before writing it when the connection just closed and it has not
  // noticed yet (no offline queue here): then nothing was written, as when the outage was known.
  if (err.message.startsWith("Stream isn't writeable")) {
    return new RedisUnavailableError(
      `Redis at ${address} is unreachable (${err.message}); nothing was written`,
    );
  }
  // What ioredis says when it drops a command sent on a connection that closed (maxRetriesPerRequest 0).
  const cause =
    err.name === 'MaxRetriesPerRequestError' ? 'the connection dropped before the reply' : err.message;
  return new RedisUnavailableError(`Redis at ${address} went away during ${doing} (${cause}); ${outcome}`);
}
