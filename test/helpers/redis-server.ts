/**
 * A private redis-server per test file, on a free port, never the machine's 6379. It can be
 * stopped, killed and restarted on the same port (with its data when persistence is on), so tests
 * can take Redis away on purpose.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? '/usr/bin/redis-server';

export interface TestRedisOptions {
  /** AOF with fsync always: data survives kill -9 and restart. */
  persistent?: boolean;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export class TestRedis {
  port = 0;
  readonly dir = mkdtempSync(join(tmpdir(), 'rw-redis-'));
  #proc: ChildProcess | null = null;
  readonly #opts: TestRedisOptions;
  readonly #clients: Redis[] = [];

  constructor(opts: TestRedisOptions = {}) {
    this.#opts = opts;
    // A test process that dies without stop() (a crash, the runner's timeout) leaves no server behind.
    process.once('exit', () => this.#proc?.kill('SIGKILL'));
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(opts: TestRedisOptions = {}): Promise<TestRedis> {
    const r = new TestRedis(opts);
    for (let attempt = 0; ; attempt++) {
      r.port = await freePort();
      try {
        await r.#spawn();
        return r;
      } catch (err) {
        if (attempt >= 4) throw err;
      }
    }
  }

  async #spawn(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''];
    args.push(
      ...(this.#opts.persistent
        ? ['--appendonly', 'yes', '--appendfsync', 'always']
        : ['--appendonly', 'no']),
    );
    const proc = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    let out = '';
    proc.stdout?.on('data', (d) => (out += d));
    proc.stderr?.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const deadline = Date.now() + 10_000;
      const fail = (why: string) => {
        settled = true;
        reject(new Error(`redis-server ${why} on port ${this.port}: ${out}`));
      };
      const onExit = (code: number | null) => fail(`exited (${code})`);
      proc.once('exit', onExit);
      const check = () => {
        if (settled) return;
        if (out.includes('Ready to accept connections')) {
          settled = true;
          proc.off('exit', onExit);
          resolve();
        } else if (Date.now() > deadline) {
          proc.off('exit', onExit);
          proc.kill('SIGKILL');
          fail('not ready after 10 s');
        } else setTimeout(check, 10);
      };
      check();
    });
  }

  /** A plain connection for assertions; closed by stop(). */
  client(): Redis {
    const c = new Redis(this.url, { lazyConnect: false, maxRetriesPerRequest: null });
    c.on('error', () => {});
    this.#clients.push(c);
    return c;
  }

  get running(): boolean {
    return this.#proc !== null && this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.#proc;
    if (!proc || !this.running) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
  }

  /** Starts it again on the same port (the data comes back when persistent). */
  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#spawn();
        return;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 100)); // the port may linger a moment
      }
    }
  }

  async stop(): Promise<void> {
    for (const c of this.#clients) c.disconnect();
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
