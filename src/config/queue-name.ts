/** What a queue name may be: what Resque's keys and our comma-separated queue lists can carry. */

export class InvalidQueueNameError extends Error {
  override name = 'InvalidQueueNameError';
}

export function assertQueueName(q: string): void {
  if (q === '' || q.includes('\0') || q.includes(',') || q !== q.trim()) {
    throw new InvalidQueueNameError(
      `invalid queue name ${JSON.stringify(q)}: must be non-empty, without commas, NUL or surrounding spaces`,
    );
  }
}
