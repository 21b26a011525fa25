/**
 * The part of a bench worker that is the same for every system (plain JS, so peers' workers run
 * on bare Node without tsx).
 *
 * Duties:
 *  1. read the worker's settings from BENCH_WORKER (JSON) and talk to the bench over IPC
 *  2. record each job start: a per-job counter (exactly-once check) and, for latency runs, the
 *     pickup latency (job start - enqueue time, both on the machine-wide monotonic clock)
 *  3. report progress, RSS samples and CPU time on request; stop the system's worker on 'stop'
 * Nothing here talks to Redis, so the bench's Redis command counts are the system's alone.
 */

/** Milliseconds on CLOCK_MONOTONIC: the same clock in every process on the machine. */
export const monoMs = () => Number(process.hrtime.bigint()) / 1e6;

export function settings() {
  const raw = process.env.BENCH_WORKER;
  if (!raw) throw new Error('BENCH_WORKER is not set: run this through scripts/bench.ts');
  return JSON.parse(raw);
}

/**
 * Runs one bench worker. `system.init(record)` connects without taking jobs; `system.go()`
 * starts taking jobs; `system.stop()` closes it gracefully.
 */
export async function runBenchWorker(system) {
  const cfg = settings();
  const counts = new Uint8Array(cfg.maxSeq);
  const lat = cfg.latency ? new Float64Array(cfg.maxSeq) : null;
  let done = 0;
  let lastStart = 0;
  let sent = -1;
  const record = (seq, t0) => {
    const t = monoMs();
    if (counts[seq] < 255) counts[seq]++;
    if (lat !== null && t0 > 0) lat[seq] = t - t0;
    done++;
    lastStart = t;
  };
  const send = (msg) => {
    if (process.connected) process.send(msg);
  };
  const progress = setInterval(() => {
    if (done !== sent) {
      sent = done;
      send({ type: 'progress', done, lastStart });
    }
  }, 50);
  let sampler = null;
  if (cfg.sampleMs) {
    const t0 = monoMs();
    sampler = setInterval(
      () => send({ type: 'sample', t: monoMs() - t0, done, rss: process.memoryUsage.rss() }),
      cfg.sampleMs,
    );
  }
  process.on('message', async (msg) => {
    try {
      if (msg.type === 'go') {
        await system.go();
        send({ type: 'going' });
      } else if (msg.type === 'report') {
        send({
          type: 'report',
          done,
          lastStart,
          counts: Buffer.from(counts.buffer).toString('base64'),
          lat: lat ? Buffer.from(lat.buffer).toString('base64') : null,
          rss: process.memoryUsage.rss(),
          mem: process.memoryUsage(),
          cpu: process.cpuUsage(),
          // Every thread's sleeps (voluntary context switches): each is a wake-up to pay for.
          sleeps: process.resourceUsage().voluntaryContextSwitches,
        });
      } else if (msg.type === 'stop') {
        clearInterval(progress);
        if (sampler) clearInterval(sampler);
        await system.stop();
        send({ type: 'stopped' });
        process.disconnect();
        setTimeout(() => process.exit(0), 50).unref();
      }
    } catch (err) {
      send({ type: 'error', message: String(err?.stack ?? err) });
    }
  });
  await system.init(record, cfg);
  send({ type: 'ready', rss: process.memoryUsage.rss() });
}
