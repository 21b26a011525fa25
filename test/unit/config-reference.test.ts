/** docs/configuration.md is generated from the schema: it must be what the schema says now. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configReference } from '../../src/config/reference.ts';
import { schema } from '../../src/config/schema.ts';

test('docs/configuration.md is up to date with the schema (else: npm run docs:config)', () => {
  const file = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  // The formatter pads table cells: compare without padding.
  const unpadded = (s: string) => s.replace(/ {2,}/g, ' ').replace(/ ?-{3,} ?/g, '---');
  assert.equal(unpadded(file), unpadded(configReference()), 'run npm run docs:config');
  // Every key with an environment variable is in it, by name.
  const envs = JSON.stringify(schema).match(/"env":"[A-Z_]+"/g) ?? [];
  assert.ok(envs.length >= 20, `${envs.length}`);
  for (const e of envs) assert.ok(file.includes(`\`${e.slice(7, -1)}\``), e);
});
