/**
 * Writes docs/configuration.md from the config schema (src/config/schema.ts): every key, its
 * environment variable, default and description, so the reference cannot drift from the code.
 * `npm run docs:config`; test/unit/config-reference.test.ts fails when the file is out of date.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { configReference } from '../src/config/reference.ts';

const out = new URL('../docs/configuration.md', import.meta.url).pathname;
writeFileSync(out, configReference());
// The formatter pads the table as it pads every Markdown table here (the test ignores padding).
execFileSync('npx', ['biome', 'format', '--write', out], { stdio: 'ignore' });
console.log(`wrote ${out}`);
