#!/usr/bin/env node
// Runs a TypeScript file with tsx registered: `node bin/tsx.mjs scripts/bench.ts [args]`.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const [script, ...rest] = process.argv.slice(2);
if (!script) {
  console.error('usage: node bin/tsx.mjs <file.ts> [args...]');
  process.exit(2);
}
process.argv = [process.argv[0] ?? 'node', resolve(script), ...rest];
await import(pathToFileURL(resolve(script)).href);
