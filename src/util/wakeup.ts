/**
 * A level-triggered wake-up: `wait(ms)` resolves on the next `notify()` or after `ms`, whichever
 * comes first. A notify with nobody waiting is remembered, so no wake-up is ever missed.
 */
export class Wakeup {
  #pending = false;
  #resolve: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;

  notify(): void {
    if (this.#resolve) this.#settle();
    else this.#pending = true;
  }

  wait(ms = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#resolve = resolve;
      if (Number.isFinite(ms)) this.#timer = setTimeout(() => this.#settle(), ms);
    });
  }

  #settle(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.();
  }
}
