import { setTimeout as sleep } from 'node:timers/promises';
import type { CollectorName } from '../config/schema.js';
import type { Tenant } from '../tenant.js';

/**
 * Refreshes every collector of every tenant on its own interval. Each tenant+collector is one sequential loop, so
 * at most one refresh of it is in flight; the next starts one interval after the previous started (at once if it
 * overran). Tenants start staggered so hundreds of them do not hit Entra ID and Graph in the same second.
 */
export class Scheduler {
  readonly #controller = new AbortController();
  readonly #loops: Array<Promise<void>> = [];

  start(tenants: Tenant[], intervals: Record<CollectorName, number>, staggerMs = 25): void {
    tenants.forEach((tenant, index) => {
      for (const collector of tenant.collectors) {
        this.#loops.push(this.#loop(() => tenant.refresh(collector, this.#controller.signal), intervals[collector.name], index * staggerMs));
      }
    });
  }

  async #loop(refresh: () => Promise<void>, intervalMs: number, initialDelayMs: number): Promise<void> {
    const signal = this.#controller.signal;
    try {
      if (initialDelayMs > 0) await sleep(Math.min(initialDelayMs, intervalMs), undefined, { signal });
      while (!signal.aborted) {
        const started = Date.now();
        await refresh();
        await sleep(Math.max(0, started + intervalMs - Date.now()), undefined, { signal });
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  /** Stops every loop, aborting requests in flight, and waits for them to end. */
  async stop(): Promise<void> {
    this.#controller.abort();
    await Promise.allSettled(this.#loops);
  }
}
