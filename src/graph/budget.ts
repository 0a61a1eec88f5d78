import { BudgetExhaustedError } from '../model/errors.js';

export interface BudgetWindow {
  /** Label value for the remaining-budget metric, e.g. "1m". */
  name: string;
  limit: number;
  windowMs: number;
}

/**
 * Sliding-window request budget for one tenant. Graph limits service communications to 240 requests/minute
 * and 800/hour per app per tenant; every request (pages and retries too) takes one slot, and a request that
 * would exceed any window is refused here instead of being throttled by Graph.
 */
export class RequestBudget {
  readonly #sent: number[] = [];
  readonly #longestMs: number;
  /** Requests sent, and requests forgotten (past every window), since the start. */
  #taken = 0;
  #forgotten = 0;

  constructor(readonly windows: BudgetWindow[], private readonly now: () => number = Date.now) {
    this.#longestMs = Math.max(...windows.map((w) => w.windowMs));
  }

  take(what: string): void {
    const now = this.now();
    this.#forget(now);
    for (const window of this.windows) {
      if (this.#countSince(now - window.windowMs) >= window.limit) {
        throw new BudgetExhaustedError(`request budget exhausted: ${window.limit} requests per ${window.name} already sent; not sending ${what}`);
      }
    }
    this.#sent.push(now);
    this.#taken++;
  }

  /**
   * Changes whenever remaining() would answer differently: with each request sent and each one that leaves a
   * window. It only grows: every request enters each window once and leaves it once.
   */
  get version(): number {
    const now = this.now();
    let version = this.#taken * this.windows.length;
    for (const window of this.windows) version += this.#forgotten + this.#sent.length - this.#countSince(now - window.windowMs);
    return version;
  }

  /** When the next request leaves a window (remaining() then grows), or undefined while none is in any window. */
  nextChangeAt(): number | undefined {
    const now = this.now();
    let next: number | undefined;
    for (const window of this.windows) {
      const oldest = this.#sent[this.#sent.length - this.#countSince(now - window.windowMs)];
      if (oldest !== undefined) next = Math.min(next ?? Infinity, oldest + window.windowMs);
    }
    return next;
  }

  remaining(): Array<{ window: string; remaining: number }> {
    const now = this.now();
    this.#forget(now);
    return this.windows.map((w) => ({ window: w.name, remaining: Math.max(0, w.limit - this.#countSince(now - w.windowMs)) }));
  }

  #countSince(start: number): number {
    let count = 0;
    for (let i = this.#sent.length - 1; i >= 0 && this.#sent[i]! > start; i--) count++;
    return count;
  }

  #forget(now: number): void {
    const horizon = now - this.#longestMs;
    let drop = 0;
    while (drop < this.#sent.length && this.#sent[drop]! <= horizon) drop++;
    if (drop > 0) this.#sent.splice(0, drop);
    this.#forgotten += drop;
  }
}
