/**
 * Is dist/ (the daemon compiled by `npm run build`) usable, or has src/ changed since it was built?
 * bin/resque-worker.mjs asks before every start; scripts/install.sh and the tests ask too.
 *
 * The build writes dist/.build-stamp.json last, holding the time the build started. dist/ is fresh
 * when that stamp exists and no file or directory under src/ was modified after that time (a
 * directory's time covers a file added, removed or renamed in it). Comparing with the build's
 * start, not its end, counts an edit made while tsc ran as a change. A few dozen stats, no reads.
 *
 * A copy under node_modules (a dependency installed by npm) is not checked: npm unpacks files with
 * the time of unpacking, so src/ would look newer than the stamp, and nobody edits it in place.
 *
 * `node bin/dist-state.mjs` prints the state; exit status 0 when dist/ is fresh, 1 otherwise.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));
export const STAMP = 'dist/.build-stamp.json';

/**
 * @param {string} [root] the package directory (holding src/ and dist/)
 * @returns {{ fresh: boolean, built: boolean, why: string }} built: a stamp exists; why: for people
 */
export function distState(root = ROOT) {
  let startedAtMs;
  try {
    startedAtMs = JSON.parse(readFileSync(join(root, STAMP), 'utf8')).startedAtMs;
  } catch {
    return { fresh: false, built: false, why: 'dist/ is not built' };
  }
  if (typeof startedAtMs !== 'number') return { fresh: false, built: false, why: `${STAMP} is unreadable` };
  if (root.split(/[\\/]/).includes('node_modules'))
    return { fresh: true, built: true, why: 'installed package' };
  const changed = newerThan(join(root, 'src'), startedAtMs);
  if (changed) {
    return { fresh: false, built: true, why: `${relative(root, changed)} changed after the last build` };
  }
  return { fresh: true, built: true, why: 'dist/ is up to date with src/' };
}

/** The first path under dir (itself included) modified after ms, or null. */
function newerThan(dir, ms) {
  if (statSync(dir).mtimeMs > ms) return dir;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const found = newerThan(path, ms);
      if (found) return found;
    } else if (statSync(path).mtimeMs > ms) return path;
  }
  return null;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const state = distState(process.argv[2]);
  console.log(state.why);
  process.exitCode = state.fresh ? 0 : 1;
}
