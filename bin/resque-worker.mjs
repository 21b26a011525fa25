#!/usr/bin/env node
// Entry point, in plain JS so it runs whatever the working directory (systemd units, node:cluster
// forks). It runs the daemon compiled by `npm run build` (dist/) when that is there and no file
// under src/ changed since (bin/dist-state.mjs); otherwise it registers tsx and runs src/ as it is,
// which costs about 20 MB and some CPU per process. A build that is out of date is said on stderr,
// so an edit without a rebuild never runs old code unnoticed; no build at all is not worth a word.
// RESQUE_WORKER_FROM=dist|src chooses by hand; `resque-worker start` sets it for its worker
// children, so they run the code the supervisor runs even if src/ changes meanwhile.
import { existsSync } from 'node:fs';
import { distState } from './dist-state.mjs';

const MAIN = { dist: '../dist/cli/main.js', src: '../src/cli/main.ts' };

const chosen = process.env.RESQUE_WORKER_FROM;
// Ours alone: job code that starts other programs should not pass it on.
delete process.env.RESQUE_WORKER_FROM;
let from;
if (!chosen) {
  const state = distState();
  from = state.fresh ? 'dist' : 'src';
  if (state.built && !state.fresh) {
    process.stderr.write(
      `resque-worker: ${state.why}: running src/ through tsx (\`npm run build\` to run the compiled dist/)\n`,
    );
  }
} else if (chosen === 'dist' || chosen === 'src') {
  from = chosen;
} else {
  process.stderr.write(`resque-worker: RESQUE_WORKER_FROM must be dist or src, got "${chosen}"\n`);
  process.exit(2);
}
if (from === 'dist' && !existsSync(new URL(MAIN.dist, import.meta.url))) {
  process.stderr.write('resque-worker: RESQUE_WORKER_FROM=dist but dist/ is not built (npm run build)\n');
  process.exit(2);
}
if (from === 'src') {
  // Both hooks, as src/util/runtime.ts registers them for job modules (it says why).
  (await import('tsx/esm/api')).register();
  (await import('tsx/cjs/api')).register();
}
await import(MAIN[from]);
