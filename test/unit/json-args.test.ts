import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildPayload, buildScheduledItem } from '../../src/jobs/payload.ts';

test('args JSON carries exactly are accepted, undefined object properties included (left out)', () => {
  const args = [
    1,
    -0.5,
    'x',
    true,
    null,
    [],
    {},
    { a: [1, { b: null }], 'odd key': 'é' },
    { gone: undefined },
  ];
  const payload = JSON.parse(buildPayload('Echo', args, 'id'));
  assert.deepEqual(payload.args, [
    1,
    -0.5,
    'x',
    true,
    null,
    [],
    {},
    { a: [1, { b: null }], 'odd key': 'é' },
    {},
  ]);
  const nullProto = Object.assign(Object.create(null), { a: 1 });
  assert.doesNotThrow(() => buildPayload('Echo', [nullProto], 'id'));
  assert.deepEqual(
    JSON.parse(buildPayload('Echo', ['to', undefined, undefined], 'id')).args,
    ['to'],
    'an optional parameter not given: left out, perform sees undefined either way',
  );
  const shared = { a: 1 };
  assert.doesNotThrow(
    () => buildPayload('Echo', [shared, [shared]], 'id'),
    'the same object twice is no cycle',
  );
});

test('args JSON would change are refused, naming the value and what it would become', () => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = { back: cyclic };
  const cases: [unknown[], RegExp][] = [
    [[1, undefined, 2], /^args of Echo: args\[1\] is undefined: JSON has none \(it would arrive as null\)/],
    [[{ when: new Date(0) }], /^args of Echo: args\[0\]\.when is a Date: JSON would make it a string/],
    [
      [{ 'a b': new Map() }],
      /^args of Echo: args\[0\]\["a b"\] is a Map, not plain JSON: it would arrive as a plain object$/,
    ],
    [[[new Set([1])]], /args\[0\]\[0\] is a Set/],
    [
      [Buffer.from('x')],
      /args\[0\] is a Buffer, not plain JSON: it would arrive as what its toJSON returns$/,
    ],
    [[Number.NaN], /args\[0\] is NaN: JSON has no such number/],
    [[{ n: Number.POSITIVE_INFINITY }], /args\[0\]\.n is Infinity/],
    [[10n], /args\[0\] is a BigInt: JSON cannot carry it; pass it as a string/],
    [[{ f: () => 1 }], /args\[0\]\.f is a function/],
    [[Symbol('s')], /args\[0\] is a symbol/],
    [[cyclic], /args\[0\]\.self\.back refers to an object that contains it/],
    [[new (class Money {})()], /args\[0\] is a Money, not plain JSON/],
  ];
  for (const [args, message] of cases) {
    assert.throws(() => buildPayload('Echo', args, 'id'), { name: 'JobArgsError', message }, String(message));
    assert.throws(() => buildScheduledItem('Echo', args, 'q', 'id'), { name: 'JobArgsError', message });
  }
});
