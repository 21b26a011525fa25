import assert from 'node:assert/strict';
import { test } from 'node:test';
import { versionAtLeast } from '../../src/redis/connection.ts';

test('Redis version check: 6.2 and later pass, 6.0 does not', () => {
  assert.equal(versionAtLeast('7.0.15', '6.2.0'), true);
  assert.equal(versionAtLeast('6.2.0', '6.2.0'), true);
  assert.equal(versionAtLeast('6.0.16', '6.2.0'), false);
  assert.equal(versionAtLeast('10.0', '6.2.0'), true);
});
