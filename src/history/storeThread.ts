import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { AVAILABILITY_WINDOWS, availability, dailyHistory, DAY_MS } from './daily.js';
import type { HistoryStore, IssueObservation, StoredTenantState } from './store.js';

/**
 * What the exporter asks of its history store, one function per call: the worker thread (./storeWorker.ts) answers
 * each message with them, so the SQLite work (recording, the availability and daily queries, writing the whole file,
 * pruning, VACUUM: 40–80 ms per write at 1000 tenants, 200 ms and more for a VACUUM) never holds the event loop that
 * answers scrapes and health checks.
 */
export function storeCalls(store: HistoryStore) {
  return {
    loadState: (tenant: string): StoredTenantState => store.loadState(tenant),
    recordServiceStatuses: (tenant: string, services: ReadonlyArray<{ id: string; status: string }>, at: number): void => store.recordServiceStatuses(tenant, services, at),
    recordIssues: (tenant: string, issues: readonly IssueObservation[], at: number): void => store.recordIssues(tenant, issues, at),
    saveState: (tenant: string, state: StoredTenantState): void => store.saveState(tenant, state),
    /** Per service id: the ratio of each availability window (./daily.ts). */
    availability: (tenant: string, serviceIds: readonly string[], now: number): Array<[string, Record<string, number>]> => {
      const since = now - AVAILABILITY_WINDOWS.at(-1)!.ms;
      const issues = store.issues(tenant, since);
      const transitions = store.serviceTransitions(tenant, since);
      return serviceIds.map((id) => [id, Object.fromEntries(AVAILABILITY_WINDOWS.map((w) => [w.label, availability(id, issues, transitions, now, w.ms)]))]);
    },
    daily: (tenant: string, days: number, now: number, services: ReadonlyArray<{ id: string; name: string }>) => {
      const since = (Math.floor(now / DAY_MS) - days + 1) * DAY_MS;
      return dailyHistory({ tenant, days, now, services, issues: store.issues(tenant, since), transitions: store.serviceTransitions(tenant, since) });
    },
    flush: (): Promise<void> => store.flush(),
    close: (): void => store.close(),
  };
}

export type StoreCalls = ReturnType<typeof storeCalls>;
export type StoreCall = keyof StoreCalls;

/** The store as its callers see it, wherever it runs: calls run in the order they were made. */
export interface AsyncStore {
  call<M extends StoreCall>(method: M, ...args: Parameters<StoreCalls[M]>): Promise<Awaited<ReturnType<StoreCalls[M]>>>;
  /** Closes the store; the caller flushed it first. */
  close(): Promise<void>;
}

/** What the worker is started with (`workerData`). */
export interface StoreWorkerData {
  path?: string;
  retentionMs: number;
}

/** What the worker posts: an answer to a call, the store's health after a load or write, or a line to log. */
export type StoreWorkerMessage =
  | { id: number; result?: unknown; error?: string }
  | { health: { ok: boolean; writeFailed?: boolean; bytes?: number } }
  | { log: { message: string; fields: Record<string, unknown> } }
  | { opened: true };

type HealthListener = (healthy: boolean, event: { writeFailed?: boolean; bytes?: number }) => void;

/**
 * The history store in a worker thread of its own. The database lives there only (a copy in each thread cost 60–80
 * MiB at 500 tenants: docs/performance.md). Calls are messages, run in the order they were made; if the thread dies,
 * the exporter runs on without history (every later call fails, and says why), as it does when the file cannot be
 * written.
 */
export class StoreThread implements AsyncStore {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (value: never) => void; reject: (error: Error) => void }>();
  #next = 0;
  #stopped?: Error;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  /** Starts the thread and resolves once its store is open (a missing or unreadable file is the store's to report). */
  static async open(data: StoreWorkerData, logger: Logger, onHealth: HealthListener): Promise<StoreThread> {
    // A young generation of 4 MiB, not V8's default (up to 48): the thread allocates little but query results, and its
    // heap took 51 MiB at 500 tenants with the default, 28–39 with this.
    const worker = new Worker(new URL('./storeWorker.js', import.meta.url), {
      workerData: data satisfies StoreWorkerData, resourceLimits: { maxYoungGenerationSizeMb: 4 },
    });
    const thread = new StoreThread(worker);
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (message: StoreWorkerMessage) => {
        if ('opened' in message) resolve();
        else if ('health' in message) onHealth(message.health.ok, message.health);
        else if ('log' in message) logger.error(message.log.fields, message.log.message);
        else thread.#answer(message);
      });
      worker.once('error', (error) => {
        reject(error);
        thread.#stop(error, logger, onHealth);
      });
      worker.once('exit', (code) => thread.#stop(new Error(`the history store thread exited with code ${code}`), logger, onHealth));
    });
    return thread;
  }

  call<M extends StoreCall>(method: M, ...args: Parameters<StoreCalls[M]>): Promise<Awaited<ReturnType<StoreCalls[M]>>> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, method, args });
    });
  }

  /** Closes the store and ends the thread. */
  async close(): Promise<void> {
    await this.call('close').catch(() => undefined);
    this.#stopped ??= new Error('the history store is closed');
    await this.#worker.terminate();
  }

  #answer({ id, result, error }: { id: number; result?: unknown; error?: string }): void {
    const pending = this.#pending.get(id);
    this.#pending.delete(id);
    if (error === undefined) pending?.resolve(result as never);
    else pending?.reject(new Error(error));
  }

  #stop(error: Error, logger: Logger, onHealth: HealthListener): void {
    if (this.#stopped) return;
    this.#stopped = error;
    logger.error({ err: error.message }, 'the history store thread stopped; running on without history (counters restart at the next start)');
    onHealth(false, {});
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }
}
