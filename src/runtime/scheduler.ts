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
 * Where in its interval a group's tasks refresh: a hash of the group's name (a tenant), as Prometheus offsets each
 * target's scrapes (https://github.com/prometheus/prometheus/blob/main/scrape/target.go, `offset`). Stable across
 * restarts, and a fleet's refreshes spread evenly over the interval however close together its tenants started.
 */
export function phaseOf(name: string, intervalMs: number): number {
  let hash = 0x811c9dc5; // FNV-1a, 32 bits
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return hash % intervalMs;
}

/**
 * When the refresh after one that started at `started` is due: the one time of the task's phase in
 * (started + early, started + early + interval], so from the second refresh on the task keeps its phase and no gap
 * exceeds the interval by more than `early`. `early` absorbs a timer that fires a millisecond before its time (Node.js
 * timers do: CI caught one), which would otherwise find its own phase still ahead and refresh again at once. In the
 * past when the refresh overran (it then starts at once).
 */
export function nextRefreshAt(started: number, intervalMs: number, phaseMs: number): number {
  const from = started + Math.min(100, intervalMs / 10);
  const sincePhase = (((from - phaseMs) % intervalMs) + intervalMs) % intervalMs;
  return from + intervalMs - sincePhase;
}

/**
 * Runs every task on its own interval. Each task is one sequential loop, so at most one refresh of it is in flight.
 * The first refresh starts after the group's initial delay (tenants are staggered by a few milliseconds, so the
 * fleet is ready soon); the next ones at the group's phase of each interval (see phaseOf), so 500 tenants that started
 * within seconds of each other do not refresh in the same seconds of every minute, holding the event loop while
 * scrapes wait, but as many in each second. Each loop has its own abort
 * signal (one shared signal would collect a listener per loop: MaxListenersExceededWarning past ten), so groups of
 * loops can be stopped alone.
 */
export class Scheduler {
  readonly #loops = new Map<string, Loop>();

  /**
   * Starts the tasks of one group (a tenant), after `initialDelayMs` (staggered, so tenants do not start in the same
   * second). The group's tasks share one phase: a tenant's health and its issues refresh together, so an alert on a
   * service's status finds the incident that explains it.
   */
  start(tasks: RefreshTask[], { initialDelayMs = 0, group }: { initialDelayMs?: number; group?: string } = {}): void {
    for (const task of tasks) {
      if (this.#loops.has(task.name)) throw new Error(`${task.name} is already scheduled`);
      const controller = new AbortController();
      // A refresh listens on its loop's signal once per request in flight and per retry wait (the Monitoring API reads
      // 40 functions in one refresh); each listener is removed when its request ends, so more than Node's default 10 is
      // normal, not a leak.
      setMaxListeners(MAX_LISTENERS_PER_LOOP, controller.signal);
      this.#loops.set(task.name, { controller, done: this.#loop(task, controller.signal, initialDelayMs, group ?? task.name) });
    }
  }

  async #loop(task: RefreshTask, signal: AbortSignal, initialDelayMs: number, group: string): Promise<void> {
    try {
      if (initialDelayMs > 0) await sleep(Math.min(initialDelayMs, task.intervalMs), undefined, { signal });
      const phase = phaseOf(group, task.intervalMs);
      while (!signal.aborted) {
        const started = Date.now();
        await task.refresh(signal);
        await sleep(Math.max(0, nextRefreshAt(started, task.intervalMs, phase) - Date.now()), undefined, { signal });
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
