/** Every Lua script is registered, documents its KEYS/ARGV, and its key count matches the header. */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SCRIPTS, scriptSource } from '../../src/redis/scripts.ts';

const dir = new URL('../../src/redis/lua/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.lua') && !f.endsWith('.lib.lua'));

test('every .lua file is registered and every registered script has a file', () => {
  assert.deepEqual(files.map((f) => f.replace(/\.lua$/, '')).sort(), Object.keys(SCRIPTS).sort());
});

for (const file of files) {
  const name = file.replace(/\.lua$/, '') as keyof typeof SCRIPTS;
  test(`${file}: header names KEYS and ARGV; fixed key count matches`, () => {
    const text = readFileSync(new URL(file, dir), 'utf8');
    const header = text.slice(0, text.indexOf(']]'));
    assert.match(header, /KEYS\[1/);
    assert.match(header, /ARGV\[1/);
    const fixed = [...header.matchAll(/^\s+KEYS\[(\d+)\]\s/gm)].map((m) => Number(m[1]));
    const def = SCRIPTS[name] as { numberOfKeys?: number };
    if (def.numberOfKeys !== undefined) assert.equal(Math.max(...fixed), def.numberOfKeys);
    else
      assert.match(
        header,
        /KEYS\[\d*\+?[a-z]*\.\.\]|KEYS\[\d+\+i\]|KEYS\[1\.\.\]/,
        'a variadic script documents its extra keys',
      );
    const source = scriptSource(name);
    assert.doesNotMatch(source, /^-- @include /m, 'includes are spliced');
  });
}
