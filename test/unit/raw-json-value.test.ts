import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rawJsonValue, replaceRawJsonValue, setRawJsonValue } from '../../src/util/raw-json-value.ts';

test('returns a member exactly as written: big integers, 1.0, escapes, nesting, key order', () => {
  const payload = '{"class":"A","args":[1790000000000000001,1.0,"a\\"}]b",{"x":[{}]}],"id":"z"}';
  const record = `{"failed_at":"2026/01/12 20:23:55 UTC", "payload" : ${payload},"exception":"E","queue":"q"}`;
  assert.equal(rawJsonValue(record, 'payload'), payload);
  assert.equal(rawJsonValue(record, 'queue'), '"q"');
  assert.equal(rawJsonValue('{"a":1,"b":true}', 'b'), 'true');
});

test('undefined when it is not an object holding the key', () => {
  assert.equal(rawJsonValue('{"a":1}', 'payload'), undefined);
  assert.equal(rawJsonValue('[1,2]', 'payload'), undefined);
  assert.equal(rawJsonValue('not json', 'payload'), undefined);
  assert.equal(rawJsonValue('{"payload":', 'payload'), undefined);
});

test('replaceRawJsonValue swaps one member and keeps every other byte', () => {
  const record = '{"payload":{"args":[1790000000000000001,1.0]}, "retried_at" : "old","queue":"q"}';
  assert.equal(
    replaceRawJsonValue(record, 'retried_at', '"new"'),
    '{"payload":{"args":[1790000000000000001,1.0]}, "retried_at" : "new","queue":"q"}',
  );
  assert.equal(replaceRawJsonValue(record, 'missing', '1'), undefined);
  assert.equal(replaceRawJsonValue('[1]', 'a', '1'), undefined);
});

test('setRawJsonValue replaces a member in place or adds it at the end, every other byte kept', () => {
  const text = '{"a": 1.0, "b":[12345678901234567890]}';
  assert.equal(setRawJsonValue(text, 'a', '2'), '{"a": 2, "b":[12345678901234567890]}');
  assert.equal(setRawJsonValue(text, 'c', '"x"'), '{"a": 1.0, "b":[12345678901234567890],"c":"x"}');
  assert.equal(setRawJsonValue('{ }', 'c', '1'), '{ "c":1}');
});
