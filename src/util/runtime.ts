/**
 * Which code this process runs, and tsx for users' TypeScript job modules.
 *
 * bin/resque-worker.mjs runs the compiled dist/ when it is up to date, else src/ through tsx (see
 * bin/dist-state.mjs). From dist/, tsx is registered only when a job module is TypeScript, right
 * before it is imported: its loader thread and esbuild cost about 20 MB per process, which a
 * worker with .js job modules does not pay.
 */

/** 'dist' when compiled by `npm run build`, 'src' when this runs as TypeScript (through tsx). */
export const RUNNING_FROM: 'dist' | 'src' = import.meta.url.endsWith('.ts') ? 'src' : 'dist';

/** Running as .ts means a TypeScript loader is already in place: no second one. */
let tsx: Promise<void> | undefined = RUNNING_FROM === 'src' ? Promise.resolve() : undefined;
let registered = RUNNING_FROM === 'src';

/**
 * Registers tsx once per process (a no-op when running from src/, where bin/resque-worker.mjs did).
 * Both of its hooks, as its CLI does: a .ts file in a package without `"type": "module"` (most
 * apps) is CommonJS to Node, and with the ESM hook alone its `export`s failed to load ("Cannot
 * require() ES Module ... in a cycle"); the CommonJS hook compiles it to CommonJS instead.
 */
export function registerTsx(): Promise<void> {
  tsx ??= Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]).then(([esm, cjs]) => {
    esm.register();
    cjs.register();
    registered = true;
  });
  return tsx;
}

/** Whether .ts modules can be imported in this process now. */
export function tsxRegistered(): boolean {
  return registered;
}

/** Module files tsx must load. */
export const TYPESCRIPT_MODULE = /\.[cm]?ts$/;
