/**
 * Bench worker processes: spawn two per run (ours from the compiled dist/ on bare Node, as the daemon
 * runs, or through bin/tsx.mjs for 'ours-tsx'; peers on bare Node), wait for their IPC messages, and
 * stop them. A process that dies fails the run loudly
 * with its stderr.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import type { BenchWorkerSettings } from './recorder.mjs';

export interface Report {
  done: number;
  lastStart: number;
  counts: Uint8Array;
  lat: Float64Array | null;
  rss: number;
  mem: NodeJS.MemoryUsage;
  cpu: { user: number; system: number };
  /** Voluntary context switches of every thread so far. */
  sleeps: number;
}

type Msg = { type: string; [k: string]: unknown };

const ROOT = new URL('../../', import.meta.url).pathname;

export class BenchProc {
  readonly child: ChildProcess;
  readonly name: string;
  done = 0;
  lastStart = 0;
  readonly samples: { t: number; done: number; rss: number }[] = [];
  #stderr = '';
  #waiters: { type: string; resolve: (m: Msg) => void; reject: (e: Error) => void }[] = [];
  #inbox: Msg[] = [];
  #exit: Error | null = null;

  constructor(settings: BenchWorkerSettings, opts: { nodeArgs?: string[]; index: number }) {
    const entry =
      settings.system === 'ours-tsx'
        ? ['bin/tsx.mjs', 'scripts/bench/ours-worker.mjs']
        : settings.system.startsWith('ours')
          ? ['scripts/bench/ours-worker.mjs']
          : ['scripts/bench/peer-worker.mjs'];
    const out = openSync(settings.logFile, 'a');
    this.name = `${settings.system}#${opts.index}`;
    this.child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...entry], {
      cwd: ROOT,
      env: { ...process.env, BENCH_WORKER: JSON.stringify(settings) },
      stdio: ['ignore', out, 'pipe', 'ipc'],
    });
    this.child.stderr?.on('data', (d) => {
      this.#stderr = (this.#stderr + d).slice(-4000);
    });
    this.child.on('message', (m: Msg) => this.#onMessage(m));
    this.child.on('exit', (code, signal) => {
      this.#exit = new Error(`${this.name} exited (${code ?? signal}): ${this.#stderr}`);
      for (const w of this.#waiters.splice(0)) w.reject(this.#exit);
    });
  }

  #onMessage(m: Msg): void {
    if (m.type === 'progress') {
      this.done = m.done as number;
      this.lastStart = m.lastStart as number;
      return;
    }
    if (m.type === 'sample') {
      this.samples.push(m as never);
      return;
    }
    if (m.type === 'error') {
      const err = new Error(`${this.name}: ${m.message}`);
      for (const w of this.#waiters.splice(0)) w.reject(err);
      return;
    }
    const i = this.#waiters.findIndex((w) => w.type === m.type);
    if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(m);
    else this.#inbox.push(m);
  }

  next(type: string, timeoutMs = 60_000): Promise<Msg> {
    const i = this.#inbox.findIndex((m) => m.type === type);
    if (i >= 0) return Promise.resolve(this.#inbox.splice(i, 1)[0]!);
    if (this.#exit) return Promise.reject(this.#exit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no '${type}' within ${timeoutMs} ms: ${this.#stderr}`)),
        timeoutMs,
      );
      this.#waiters.push({
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  send(type: string): void {
    this.child.send({ type });
  }

  async report(): Promise<Report> {
    this.send('report');
    const m = await this.next('report');
    const counts = new Uint8Array(Buffer.from(m.counts as string, 'base64'));
    const latBuf = m.lat ? Buffer.from(m.lat as string, 'base64') : null;
    return {
      done: m.done as number,
      lastStart: m.lastStart as number,
      counts,
      lat: latBuf ? new Float64Array(latBuf.buffer, latBuf.byteOffset, latBuf.byteLength / 8) : null,
      rss: m.rss as number,
      mem: m.mem as NodeJS.MemoryUsage,
      cpu: m.cpu as Report['cpu'],
      sleeps: m.sleeps as number,
    };
  }

  async stop(): Promise<void> {
    if (this.#exit) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.send('stop');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}

export async function startWorkers(
  settings: BenchWorkerSettings,
  count: number,
  nodeArgs?: string[],
): Promise<BenchProc[]> {
  const procs = Array.from({ length: count }, (_, index) => new BenchProc(settings, { nodeArgs, index }));
  await Promise.all(procs.map((p) => p.next('ready')));
  return procs;
}
