import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attemptsOf, retryDelayOf, retryLimitOf, retryPlan } from '../../src/jobs/retry.ts';

const job = (settings: Record<string, unknown>) => Object.assign(() => {}, settings);

test('retryLimit and the delay of each retry: retryDelay, or backoffStrategy with its last value repeating', () => {
  assert.equal(retryLimitOf(job({})), 0);
  assert.equal(retryLimitOf(job({ retryLimit: 2.5 })), 0, 'a whole number or nothing');
  assert.equal(retryLimitOf(job({ retryLimit: 1e9 })), 1000, 'capped');
  assert.equal(retryDelayOf(job({ retryDelay: 30 }), 3), 30);
  const backoff = job({ retryDelay: 30, backoffStrategy: [0, 60, 600] });
  assert.deepEqual(
    [1, 2, 3, 4, 9].map((n) => retryDelayOf(backoff, n)),
    [0, 60, 600, 600, 600],
  );
  assert.equal(retryDelayOf(job({ retryDelay: -1 }), 1), 0);
});

test('a retry plan: none when spent or killed; the item keeps every byte, with retry_attempt and queue set', () => {
  const def = job({ retryLimit: 2, retryDelay: 10 });
  const payload = '{"class":"J","args":[1.0,12345678901234567890],"id":"x"}';
  const plan = retryPlan(def, payload, 'q', 'Error', 0, 1_000_000);
  assert.deepEqual(plan, {
    at: 1010,
    item: '{"class":"J","args":[1.0,12345678901234567890],"id":"x","retry_attempt":1,"queue":"q"}',
    attempt: 1,
    limit: 2,
    delaySeconds: 10,
  });
  const again = retryPlan(def, plan!.item, 'q', 'Error', 1, 1_000_000);
  assert.equal(
    again?.item,
    '{"class":"J","args":[1.0,12345678901234567890],"id":"x","retry_attempt":2,"queue":"q"}',
  );
  assert.equal(retryPlan(def, again!.item, 'q', 'Error', 2), null, 'spent');
  assert.equal(retryPlan(def, payload, 'q', 'JobKilled', 0), null, 'USR1 is an operator saying stop');
  assert.equal(retryPlan(job({}), payload, 'q', 'Error', 0), null, 'no retryLimit, no retry');
  assert.equal(retryPlan(def, '{}', 'q', 'Error', 0)?.item, '{"retry_attempt":1,"queue":"q"}');
  assert.deepEqual(
    [{}, { retry_attempt: 3 }, { retry_attempt: -1 }, { retry_attempt: '2' }].map(attemptsOf),
    [0, 3, 0, 0],
  );
});
