/**
 * Jobs handed to a worker by enqueue.lua arrive as messages on the worker's channel, their
 * entries already in its in-flight list (token `h<n>`). A message is lost only with the
 * subscriber's connection, so after it reconnects the worker looks for hand-off entries in its
 * list that it does not hold: those are its strays, and it runs them.
 */
import type { ScriptedRedis } from '../redis/scripts.ts';

/** First byte of a message that hands off a job (`e<entry>`); any other message means "reserve". */
export const HAND_OFF_MESSAGE = 0x65; // 'e'
const HAND_OFF_TOKEN = 0x68; // 'h': reserve tokens are hex, so never start with it

/** How long the subscriber may take to answer a PING before its connection is taken for dead. */
const PING_TIMEOUT_MS = 5000;

/**
 * Hand-off entries in the in-flight list that are not among `held()` (evaluated at the end). The
 * caller must send no finish and put nothing back while this runs, or an entry gone meanwhile
 * would look lost. Rejects if the subscriber does not answer (and has it reconnect).
 */
export async function findStrayHandOffs(
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
