import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

/** Listeners one refresh may hold on its loop's signal at once: requests and retry waits, bounded by the collector. */
const MAX_LISTENERS_PER_LOOP = 200;

/** One repeating piece of work: a collector of a tenant. `refresh` never throws. */
export interface RefreshTask {
  readonly name: string;
  readonly intervalMs: number;
  refresh(signal: AbortSignal): Promise<void>;
}

interface Loop {
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Runs every task on its own interval. Each task is one sequential loop, so at most one refresh of it is in flight;
 * the next starts one interval after the previous started (at once if it overran). Each loop has its own abort
 * signal (one shared signal would collect a listener per loop: MaxListenersExceededWarning past ten), so groups of
 * loops can be stopped alone.
 */
export class Scheduler {
  readonly #loops = new Map<string, Loop>();

  /** Starts the tasks of one group (a tenant), after `initialDelayMs` (staggered, so tenants do not start in the same second). */
  start(tasks: RefreshTask[], initialDelayMs = 0): void {
    for (const task of tasks) {
      if (this.#loops.has(task.name)) throw new Error(`${task.name} is already scheduled`);
      const controller = new AbortController();
      // A refresh listens on its loop's signal once per request in flight and per retry wait (the Monitoring API reads
      // 40 functions in one refresh); each listener is removed when its request ends, so more than Node's default 10 is
      // normal, not a leak.
      setMaxListeners(MAX_LISTENERS_PER_LOOP, controller.signal);
      this.#loops.set(task.name, { controller, done: this.#loop(task, controller.signal, initialDelayMs) });
    }
  }

  async #loop(task: RefreshTask, signal: AbortSignal, initialDelayMs: number): Promise<void> {
    try {
      if (initialDelayMs > 0) await sleep(Math.min(initialDelayMs, task.intervalMs), undefined, { signal });
      while (!signal.aborted) {
        const started = Date.now();
        await task.refresh(signal);
        await sleep(Math.max(0, started + task.intervalMs - Date.now()), undefined, { signal });
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  /** Stops the named loops (all when none is named), aborting their requests in flight, and waits for them to end. */
  async stop(names: string[] = [...this.#loops.keys()]): Promise<void> {
    const stopping = names.flatMap((name) => {
      const loop = this.#loops.get(name);
      this.#loops.delete(name);
      loop?.controller.abort();
      return loop ? [loop.done] : [];
    });
    await Promise.allSettled(stopping);
  }
}
