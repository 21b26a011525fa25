/** Runs notify-socket.py: a NOTIFY_SOCKET that records what the daemon sends to "systemd". */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const SCRIPT = new URL('./notify-socket.py', import.meta.url).pathname;

export class NotifySocket {
  readonly messages: string[] = [];
  readonly #dir = mkdtempSync(join(tmpdir(), 'rw-notify-'));
  readonly path = join(this.#dir, 'notify.sock');
  #proc: ChildProcess | null = null;

  static async start(): Promise<NotifySocket> {
    const s = new NotifySocket();
    const proc = spawn('python3', [SCRIPT, s.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    s.#proc = proc;
    await new Promise<void>((resolve, reject) => {
      proc.once('exit', (code) => reject(new Error(`notify-socket.py exited ${code}`)));
      createInterface({ input: proc.stdout! }).on('line', (line) => {
        const m = JSON.parse(line) as { bound?: string; message?: string };
        if (m.bound) resolve();
        if (m.message !== undefined) s.messages.push(m.message);
      });
    });
    return s;
  }

  /** Every line of every datagram, in order (`READY=1`, `STATUS=...`). */
  get lines(): string[] {
    return this.messages.flatMap((m) => m.split('\n').filter(Boolean));
  }

  stop(): void {
    this.#proc?.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
