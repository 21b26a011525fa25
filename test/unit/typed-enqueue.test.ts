/** Type-level checks (run by `tsc --noEmit`): enqueueJob's args must match the job's perform. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ResqueClient } from '../../src/client/client.ts';
import { Job, type JobArgs } from '../../src/jobs/job.ts';

class SendEmail extends Job<[to: string, subject: string]> {
  perform(_to: string, _subject: string) {}
}
function resize(_path: string, _width: number) {}

// Compile-time only: never called.
export function typeChecks(client: ResqueClient): void {
  void client.enqueueJob('mail', SendEmail, 'a@b.c', 'hi');
  // @ts-expect-error: subject missing
  void client.enqueueJob('mail', SendEmail, 'a@b.c');
  // @ts-expect-error: a number is not a subject
  void client.enqueueJob('mail', SendEmail, 'a@b.c', 42);
  void client.enqueueJob('images', resize, '/tmp/x.png', 100);
  // @ts-expect-error: width must be a number
  void client.enqueueJob('images', resize, '/tmp/x.png', '100');
}

test('JobArgs extracts perform parameters', () => {
  const args: JobArgs<typeof SendEmail> = ['a@b.c', 'hi'];
  const fnArgs: JobArgs<typeof resize> = ['/x', 1];
  assert.equal(args.length + fnArgs.length, 4);
});
