/**
 * The supervisor's view of its children's health, per child and per group.
 *
 * Duties:
 *  1. hang detection: a child silent longer than supervisor.hangTimeout (or, before its first
 *     word, STARTUP_SILENCE_MS) is marked hung and SIGKILLed; its exit does the rest
 *  2. exit accounting: log `child.exited`, tell a crash from an asked-for exit
 *  3. respawn back-off per group: schedule it after a crash, report crash loops, end a series once
 *     a child of the group stayed up for STABLE_MS, and say whether a group may spawn now
 *  4. tell a respawn (`child.respawned`) from a first spawn (`child.spawned`)
 *
 * It holds no children and never decides how many there should be: the supervisor passes them in.
 */
import type { Config } from '../config/load-config.ts';
import type { Logger } from '../log.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import type { PoolChild } from './pool-child.ts';
import type { PoolSnapshot } from './pool-status.ts';

/** A child up this long before it crashed starts a new back-off series. */
export const STABLE_MS = 30_000;
/** A child that never said a word this long after its fork is treated as hung. */
const STARTUP_SILENCE_MS = 60_000;
/**
 * Checks further apart than this mean the supervisor itself stood still (SIGSTOP, a VM paused, a
 * swap storm): its children's heartbeats are queued unread, not missing.
 */
const STALL_MS = 2_000;

export class ChildHealth {
  readonly #log: Logger;
  #config: Readonly<Config>;
  readonly #backoff = new Map<string, Backoff>();
  /** Children that died and wait for a replacement, per group (for the `child.respawned` log). */
  readonly #toRespawn = new Map<string, number>();
  /** performance.now() of the last hang check, and from when silences count (after a stall). */
  #lastCheck: number | null = null;
  #silenceCountsFrom = Number.NEGATIVE_INFINITY;

  constructor(config: Readonly<Config>, log: Logger) {
    this.#config = config;
    this.#log = log;
  }

  /** After a reload: new hang timeout, new back-off delays for every group. */
  setConfig(config: Readonly<Config>): void {
    this.#config = config;
    for (const b of this.#backoff.values()) b.setOptions(this.#backoffOptions());
  }

  /**
   * Kills each child whose event loop went silent (marked hung: child-recovery.ts decides what
   * becomes of its jobs). `now` is performance.now(): a wall clock stepped forward would make every
   * child look silent. After a stall of the supervisor's own loop every child gets a fresh window.
   */
  checkAlive(children: Iterable<PoolChild>, now: number): void {
    if (this.#lastCheck !== null && now - this.#lastCheck > STALL_MS) {
      this.#silenceCountsFrom = now;
      this.#log.warn(
        { event: 'supervisor.stalled', stalledS: Math.round((now - this.#lastCheck) / 100) / 10 },
        'the supervisor stood still: hang detection starts afresh',
      );
    }
    this.#lastCheck = now;
    for (const child of children) this.#checkChild(child, now);
  }

  #checkChild(child: PoolChild, now: number): void {
    if (child.hung) return;
    const hangMs = this.#config.supervisor.hangTimeout * 1000;
    const silentFor = now - Math.max(child.lastContact ?? child.spawnedMono, this.#silenceCountsFrom);
    const limit = child.lastContact === null ? Math.max(hangMs, STARTUP_SILENCE_MS) : hangMs;
    if (silentFor <= limit) return;
    child.hung = true;
    this.#log.error(
      { event: 'child.hung', ...child.describe(), silentS: Math.round(silentFor / 1000) },
      'worker process stopped answering (event loop blocked): killing it',
    );
    child.handle.kill('SIGKILL');
  }

  /**
   * Ends the crash series of every group that has a child up for STABLE_MS since it became ready
   * after the group's last crash; `settled(group)` for each. A child that was already up does not
   * count: in a rolling restart to a broken config the old children are stable while every new
   * one crashes, and the series must still grow (back-off, `crash loop` in STATUS).
   */
  settleStable(children: Iterable<PoolChild>, now: number, settled: (group: string) => void): void {
    const live = [...children];
    for (const [group, b] of this.#backoff) {
      if (b.crashes === 0) continue;
      const stable = live.some(
        (c) =>
          c.group === group &&
          c.readyAt !== null &&
          c.readyAt > b.lastCrashAt &&
          now - c.readyAt >= b.stableMs,
      );
      if (stable) {
        if (b.crashLoop) this.#log.info({ event: 'supervisor.crash-loop-over', group }, 'crash loop over');
        b.stable();
        settled(group);
      }
    }
  }

  /** Logs a child's exit; returns whether it was clean (code 0, no signal). */
  exited(child: PoolChild, code: number | null, signal: string | null, asked: boolean, now: number): boolean {
    const clean = code === 0 && signal === null;
    this.#log[clean ? 'info' : 'warn'](
      {
        event: 'child.exited',
        ...child.describe(),
        code,
        signal,
        expected: asked && clean,
        hung: child.hung,
        uptimeS: Math.round((now - child.spawnedAt) / 100) / 10,
      },
      clean ? 'worker process exited' : 'worker process died',
    );
    return clean;
  }

  /**
   * A running pool lost a child it did not retire: a replacement is due. A crash nobody asked for
   * (unclean, or before registering) also moves the group's back-off.
   */
  replacementDue(child: PoolChild, crashed: boolean, asked: boolean, now: number): void {
    this.#toRespawn.set(child.group, (this.#toRespawn.get(child.group) ?? 0) + 1);
    if (!crashed || asked) return;
    const b = this.#backoffOf(child.group);
    const delay = b.crashed(now, child.readyAt === null ? 0 : now - child.readyAt);
    const fields = { group: child.group, crashes: b.crashes, respawnInS: delay / 1000 };
    if (b.crashLoop)
      this.#log.error(
        { event: 'supervisor.crash-loop', ...fields },
        `group ${child.group} is crash-looping: respawn in ${delay / 1000} s`,
      );
    else this.#log.info({ event: 'child.respawn-scheduled', ...fields }, 'respawn scheduled');
  }

  /** Whether the group's back-off lets it spawn now (else the next tick comes back to it). */
  maySpawn(group: string, now: number): boolean {
    return this.#backoffOf(group).wait(now) === 0;
  }

  /** Counts a spawn against the group's pending replacements; true if it is a respawn. */
  spawned(group: string): boolean {
    const pending = this.#toRespawn.get(group) ?? 0;
    if (pending > 0) this.#toRespawn.set(group, pending - 1);
    return pending > 0;
  }

  crashLoops(now: number): PoolSnapshot['crashLoops'] {
    return [...this.#backoff.entries()]
      .filter(([, b]) => b.crashLoop)
      .map(([group, b]) => ({ group, crashes: b.crashes, retryInS: Math.ceil(b.wait(now) / 1000) }));
  }

  #backoffOf(group: string): Backoff {
    let b = this.#backoff.get(group);
    if (!b) {
      b = new Backoff(this.#backoffOptions());
      this.#backoff.set(group, b);
    }
    return b;
  }

  #backoffOptions(): BackoffOptions {
    const s = this.#config.supervisor;
    return { delayMs: s.respawnDelay * 1000, maxMs: s.respawnDelayMax * 1000, stableMs: STABLE_MS };
  }
}
