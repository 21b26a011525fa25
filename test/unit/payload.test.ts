import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  buildFailureRecord,
  buildPayload,
  describeError,
  parsePayload,
  rubyFailedAt,
} from '../../src/jobs/payload.ts';

test('our payload: Ruby fields first, then php-resque id and queue_time', () => {
  const p = JSON.parse(buildPayload('Mail', [1, { a: 'é/ü' }], 'f'.repeat(32)));
  assert.deepEqual(Object.keys(p), ['class', 'args', 'id', 'queue_time']);
  assert.deepEqual(p.args, [1, { a: 'é/ü' }]);
  assert.ok(Math.abs(p.queue_time - Date.now() / 1000) < 5);
});

test('Ruby failed_at format', () => {
  assert.equal(rubyFailedAt(new Date(Date.UTC(2026, 0, 12, 20, 23, 55))), '2026/01/12 20:23:55 UTC');
});

test('failure record embeds the payload byte for byte', () => {
  const raw = '{"args":[1],"class":"A","x":1.0}';
  const rec = buildFailureRecord({
    rawPayload: raw,
    payloadIsObject: true,
    failure: describeError(new RangeError('r')),
    workerId: 'w',
    queue: 'q',
  });
  assert.ok(rec.includes(`"payload":${raw}`));
  assert.equal(JSON.parse(rec).exception, 'RangeError');
  const bad = buildFailureRecord({
    rawPayload: 'garbage',
    payloadIsObject: false,
    failure: describeError('s'),
    workerId: 'w',
    queue: 'q',
  });
  assert.equal(JSON.parse(bad).payload, 'garbage');
  assert.equal(JSON.parse(bad).exception, 'NonErrorThrown');
});

test('describeError: custom error classes keep their name', () => {
  class PaymentDeclined extends Error {}
  assert.equal(describeError(new PaymentDeclined('no')).exception, 'PaymentDeclined');
  assert.equal(describeError(Object.assign(new Error('x'), { name: 'Custom' })).exception, 'Custom');
  assert.deepEqual(describeError({ code: 1 }).error, 'job threw a non-Error value: {"code":1}');
});

test('parsePayload: null args become [], unknown fields are kept', () => {
  const p = parsePayload('{"class":"A","args":null,"extra":true}');
  assert.deepEqual(p.args, []);
  assert.equal(p.extra, true);
});
