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
  }
}
