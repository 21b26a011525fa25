#!/usr/bin/env node
/**
 * `npm run build`: src/ compiled by tsc into dist/ (JavaScript, declarations for library users, source
 * maps), the Lua scripts copied next to the code that reads them, and dist/.build-stamp.json written
 * last (bin/dist-state.mjs reads it to tell whether src/ changed since).
 *
 * It builds into a fresh directory beside dist/ and swaps it in at the end, so a daemon running
 * from dist/ never sees a half-built tree and files of deleted modules do not linger.
 * `--if-stale` builds only when dist/ is missing or older than src/.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { distState, ROOT, STAMP } from '../bin/dist-state.mjs';

if (process.argv.includes('--if-stale')) {
  const state = distState();
  if (state.fresh) {
    console.log(`build: ${state.why}`);
    process.exit(0);
  }
  console.log(`build: ${state.why}: building`);
}

const startedAtMs = Date.now();
const dist = join(ROOT, 'dist');
const next = join(ROOT, `dist.building-${process.pid}`);
const old = join(ROOT, `dist.old-${process.pid}`);
rmSync(next, { recursive: true, force: true });
try {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', next], {
    stdio: 'inherit',
  });
  // src/redis/scripts.ts reads them at run time, from beside itself
  mkdirSync(join(next, 'redis/lua'), { recursive: true });
  for (const name of readdirSync(join(ROOT, 'src/redis/lua')).filter((n) => n.endsWith('.lua'))) {
    copyFileSync(join(ROOT, 'src/redis/lua', name), join(next, 'redis/lua', name));
  }
  const typescript = JSON.parse(readFileSync(join(tsc, '../../package.json'), 'utf8')).version;
  const stamp = { startedAtMs, startedAt: new Date(startedAtMs).toISOString(), typescript };
  writeFileSync(join(next, STAMP.replace(/^dist\//, '')), `${JSON.stringify(stamp, null, 2)}\n`);
} catch (err) {
  rmSync(next, { recursive: true, force: true });
  console.error(`build: failed: ${err.message.split('\n')[0]}`);
  process.exit(1);
}
if (existsSync(dist)) renameSync(dist, old);
renameSync(next, dist);
rmSync(old, { recursive: true, force: true });
console.log(`build: dist/ built from src/ in ${((Date.now() - startedAtMs) / 1000).toFixed(1)}s`);
