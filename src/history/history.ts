import { resolve } from 'node:path';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { HealthSnapshot } from '../collectors/healthOverviews.js';
import type { Issue, IssuesSnapshot } from '../collectors/issues.js';
import type { FunctionState, ServiceActivitySnapshot } from '../collectors/serviceActivity.js';
import type { SampleWriter } from '../collectors/types.js';
import type { Config } from '../config/load.js';
import type { Logger } from '../logger.js';
import { METRICS, STORAGE_HEALTHY, STORAGE_SIZE, STORAGE_WRITE_ERRORS, type MetricDefinition } from '../model/metrics.js';
import type { SeriesGroup, Tenant, TenantState } from '../runtime/tenant.js';
import { DAY_MS, type DailyHistory } from './daily.js';
import type { StoredTenantState } from './store.js';
import { StoreThread, type AsyncStore, type StoreCalls } from './storeThread.js';

const COUNTERS_BY_NAME = new Map((Object.values(METRICS) as MetricDefinition[]).filter((m) => m.type === 'counter').map((m) => [m.name, m]));

/** What the exposition and OTLP read of a tenant: its own groups plus availability, announced with them. */
export interface ExposedTenant {
  readonly name: string;
  readonly groups: SeriesGroup[];
  onChange(listener: (changed: SeriesGroup[]) => void): void;
}

interface Attached {
  tenant: Tenant;
  exposed: ExposedTenant;
  availability: Map<string, Record<string, number>>;
  /**
   * The issues last posted to the store, with the service id they were posted under: a collector keeps the same
   * (frozen) object for an issue that did not change (src/collectors/intern.ts), so only new or changed ones are sent.
   */
  posted: Map<Issue, string>;
  /** The availability as last answered, to announce a change only. */
  ratios?: string;
  version: number;
  /** The exposition's and OTLP's listeners, told when availability changes (it arrives after the refresh that changed it). */
  listeners: Array<(changed: SeriesGroup[]) => void>;
}

/**
 * Keeps tenants' history in the store (./store.ts, in a thread of its own: ./storeThread.ts) and their state across
 * restarts. Runtime knows nothing of it: it listens to each tenant's refreshes (`Tenant.onChange`, as the exposition
 * does), records status transitions and issues as they are seen, saves counters and read positions at each flush, and
 * restores them when a tenant starts.
 */
export class History {
  readonly #store: AsyncStore;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #flushIntervalMs: number;
  readonly retentionDays: number;
  readonly #attached = new Map<string, Attached>();
  /** Tenants whose counters or positions changed since the last flush. */
  readonly #dirty = new Set<Tenant>();
  #timer?: NodeJS.Timeout;
  #lastFlush = 0;
  #lastFailure?: string;

  constructor(store: AsyncStore, options: { logger: Logger; flushIntervalMs: number; retentionMs: number; now?: () => number }) {
    this.#store = store;
    this.#logger = options.logger;
    this.#flushIntervalMs = options.flushIntervalMs;
    this.retentionDays = Math.floor(options.retentionMs / DAY_MS);
    this.#now = options.now ?? Date.now;
  }

  /** Opens the configured store (in memory when disabled) and reports its health on `registry`. Never throws for the file. */
  static async open(storage: Config['storage'], logger: Logger, registry: Registry): Promise<History> {
    const healthy = new Gauge({ name: STORAGE_HEALTHY.name, help: STORAGE_HEALTHY.help, registers: [registry] });
    const writeErrors = new Counter({ name: STORAGE_WRITE_ERRORS.name, help: STORAGE_WRITE_ERRORS.help, registers: [registry] });
    const size = new Gauge({ name: STORAGE_SIZE.name, help: STORAGE_SIZE.help, registers: [registry] });
    writeErrors.inc(0);
    healthy.set(1);
    const path = storage.enabled ? resolve(storage.path) : undefined;
    const store = await StoreThread.open({ path, retentionMs: storage.retention }, logger, (ok, { writeFailed, bytes }) => {
      healthy.set(ok ? 1 : 0);
      if (writeFailed) writeErrors.inc();
      if (bytes !== undefined) size.set(bytes);
    });
    logger.info({ path: path ?? '(memory only: storage.enabled is false)', retention: `${Math.floor(storage.retention / DAY_MS)}d` }, 'history store opened');
    return new History(store, { logger, flushIntervalMs: storage.flushInterval, retentionMs: storage.retention });
  }

  /**
   * Restores the tenant's saved counters and read positions (call before its first refresh) and follows its
   * refreshes from then on. Returns what the exposition and OTLP should read: the tenant's groups and availability.
   */
  async attach(tenant: Tenant): Promise<ExposedTenant> {
    const stored = await this.#store.call('loadState', tenant.name).catch((error: Error) => {
      this.#logger.error({ tenant: tenant.name, err: error.message }, 'saved state not read; the tenant\'s counters start at 0');
      return { counters: [], positions: {} };
    });
    tenant.restore(decodeState(stored));
    const entry: Attached = { tenant, availability: new Map(), posted: new Map(), version: 0, listeners: [], exposed: undefined as unknown as ExposedTenant };
    const group: SeriesGroup = {
      name: 'availability',
      get version() {
        return entry.version;
      },
      write: (out) => writeAvailability(entry.availability, out),
    };
    tenant.onChange((changed) => this.#changed(entry, group, changed));
    entry.exposed = {
      name: tenant.name,
      groups: [...tenant.groups, group],
      onChange: (listener) => {
        tenant.onChange(listener);
        entry.listeners.push(listener);
      },
    };
    this.#attached.set(tenant.name, entry);
    return entry.exposed;
  }

  /** Saves a stopped tenant's final state (a reload restarting it restores it at once). */
  detach(tenant: Tenant): void {
    if (this.#attached.get(tenant.name)?.tenant !== tenant) return;
    this.#post('saveState', tenant.name, encodeState(tenant.state()));
    this.#dirty.delete(tenant);
    this.#attached.delete(tenant.name);
    this.#schedule();
  }

  exposed(tenant: Tenant): ExposedTenant {
    return this.#attached.get(tenant.name)?.tenant === tenant ? this.#attached.get(tenant.name)!.exposed : tenant;
  }

  /** GET /api/v1/history: undefined for a tenant not running. */
  async daily(tenantName: string, days: number): Promise<DailyHistory | undefined> {
    const entry = this.#attached.get(tenantName);
    if (!entry) return undefined;
    const services = (healthOf(entry.tenant)?.services ?? []).map(({ id, name }) => ({ id, name }));
    return this.#store.call('daily', tenantName, days, this.#now(), services);
  }

  /** Saves every running tenant's state and writes the file; the store stays usable. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // Counted from the start: a refresh that lands while the tenants are saved below schedules the next flush a whole
    // interval on, not at once (which wrote the whole file two to four times a minute at 1000 tenants).
    this.#lastFlush = this.#now();
    // One tenant at a time with the event loop free in between: a fleet's counters are megabytes of JSON, and
    // scrapes and health checks must not wait for all of them (docs/performance.md).
    const dirty = [...this.#dirty];
    this.#dirty.clear();
    for (const tenant of dirty) {
      this.#post('saveState', tenant.name, encodeState(tenant.state()));
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await this.#store.call('flush').catch((error: Error) => this.#failed(error));
  }

  /** At shutdown, after the tenants stopped: the last state written. */
  async close(): Promise<void> {
    for (const { tenant } of this.#attached.values()) this.#dirty.add(tenant);
    await this.flush();
    await this.#store.close();
  }

  #changed(entry: Attached, group: SeriesGroup, changed: SeriesGroup[]): void {
    const { tenant } = entry;
    const names = new Set(changed.map((changedGroup) => changedGroup.name));
    const now = this.#now();
    try {
      const health = healthOf(tenant);
      if (names.has('health') && health) this.#post('recordServiceStatuses', tenant.name, health.services.map(({ id, status }) => ({ id, status })), now);
      const issues = tenant.runners.find((runner) => runner.name === 'issues')?.snapshot as IssuesSnapshot | undefined;
      if (names.has('issues') && issues) {
        const idOf = new Map(health?.services.map((s) => [s.name.toLowerCase(), s.id]));
        const posted = new Map<Issue, string>();
        const changedIssues = issues.issues.flatMap((issue) => {
          const serviceId = idOf.get(issue.serviceName.toLowerCase()) ?? issue.serviceName;
          posted.set(issue, serviceId);
          return entry.posted.get(issue) === serviceId ? [] : [{
            id: issue.id, serviceId, serviceName: issue.serviceName, classification: issue.classification, status: issue.status, origin: issue.origin,
            featureGroup: issue.featureGroup, feature: issue.feature, title: issue.title, isResolved: issue.isResolved, start: issue.start, end: issue.end,
            lastModified: issue.lastModified,
          }];
        });
        entry.posted = posted;
        if (changedIssues.length > 0) this.#post('recordIssues', tenant.name, changedIssues, now);
      }
      if ((names.has('health') || names.has('issues')) && health) {
        // Answered after what this refresh recorded (calls run in order); announced as a change of its own.
        // Re-rendered only when a ratio moved: without incidents they stay 1 refresh after refresh.
        this.#store.call('availability', tenant.name, health.services.map((service) => service.id), now).then((ratios) => {
          const json = JSON.stringify(ratios);
          if (this.#attached.get(tenant.name) !== entry || json === entry.ratios) return;
          entry.ratios = json;
          entry.availability = new Map(ratios);
          entry.version++;
          for (const listener of entry.listeners) listener([group]);
        }, (error: Error) => this.#failed(error));
      }
    } catch (error) {
      // A bug here must not stop the tenant's refreshes or the exposition: say so and go on.
      this.#logger.error({ tenant: tenant.name, err: (error as Error).message, stack: (error as Error).stack }, 'recording history failed');
    }
    this.#dirty.add(tenant);
    this.#schedule();
  }

  /** A call whose answer nobody waits for; a failure is logged (the thread reports its own end once). */
  #post<M extends 'saveState' | 'recordServiceStatuses' | 'recordIssues'>(method: M, ...args: Parameters<StoreCalls[M]>): void {
    void this.#store.call(method, ...args).catch((error: Error) => this.#failed(error));
  }

  /**
   * A bug in recording must not stop the tenant's refreshes or the exposition: said once per distinct failure (a
   * stopped thread fails every call, and says so itself).
   */
  #failed(error: Error): void {
    if (error.message === this.#lastFailure) return;
    this.#lastFailure = error.message;
    this.#logger.error({ err: error.message }, 'recording history failed');
  }

  /** A flush at most every flushInterval, never one per refresh. */
  #schedule(): void {
    if (this.#timer) return;
    const delay = Math.max(0, this.#lastFlush + this.#flushIntervalMs - this.#now());
    this.#timer = setTimeout(() => void this.flush(), delay).unref();
  }
}

function healthOf(tenant: Tenant): HealthSnapshot | undefined {
  return tenant.runners.find((runner) => runner.name === 'health')?.snapshot as HealthSnapshot | undefined;
}

function writeAvailability(byService: Map<string, Record<string, number>>, out: SampleWriter): void {
  for (const [serviceId, windows] of byService) {
    for (const [window, ratio] of Object.entries(windows)) out.add(METRICS.serviceAvailability, { service_id: serviceId, window }, ratio);
  }
}

/**
 * Snapshots as JSON: what each collector's next fetch compares with. Health: the statuses (a change while down
 * counts once). Issues: the ids (an issue new while down counts once, a known one not again). serviceActivity: the
 * read position of each function (buckets settled while down are counted once, within the 30 days the API keeps).
 */
function encodeState(state: TenantState): StoredTenantState {
  const positions: Record<string, unknown> = {};
  const { health, issues, serviceActivity } = state.snapshots as { health?: HealthSnapshot; issues?: IssuesSnapshot; serviceActivity?: ServiceActivitySnapshot };
  if (health) positions.health = { services: health.services };
  if (issues) positions.issues = { ids: [...issues.ids] };
  if (serviceActivity) positions.serviceActivity = { functions: [...serviceActivity.functions] };
  // Zeros are left out: the runner, the connection and the health refresh make every series they can enumerate exist
  // at 0 (rule 2 of shared/STYLE.md), and a tenant's 160-odd zeros were most of what its saved state weighed.
  const counters = state.counters.filter(({ value }) => value !== 0).map(({ metric, labels, value }) => ({ metric: metric.name, labels, value }));
  return { counters, positions };
}

function decodeState(stored: StoredTenantState): TenantState {
  const { health, issues, serviceActivity } = stored.positions as {
    health?: HealthSnapshot; issues?: { ids: string[] }; serviceActivity?: { functions: Array<[string, FunctionState]> };
  };
  const snapshots: TenantState['snapshots'] = {};
  if (health) snapshots.health = health;
  if (issues) snapshots.issues = { issues: [], ids: new Set(issues.ids) } satisfies IssuesSnapshot;
  if (serviceActivity) snapshots.serviceActivity = { functions: new Map(serviceActivity.functions) } satisfies ServiceActivitySnapshot;
  return {
    // A counter this release no longer defines is dropped.
    counters: stored.counters.flatMap(({ metric, labels, value }) => {
      const definition = COUNTERS_BY_NAME.get(metric);
      return definition ? [{ metric: definition, labels, value }] : [];
    }),
    snapshots,
  };
}
