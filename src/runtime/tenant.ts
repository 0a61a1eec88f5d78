import { COLLECTORS } from '../collectors/index.js';
import type { HealthSnapshot } from '../collectors/healthOverviews.js';
import type { Issue, IssuesSettings, IssuesSnapshot } from '../collectors/issues.js';
import type { Message, MessagesSnapshot } from '../collectors/messages.js';
import type { ServiceActivitySettings } from '../collectors/serviceActivity.js';
import type { Labels, SampleWriter, TenantView } from '../collectors/types.js';
import type { Config, TenantConfig } from '../config/load.js';
import type { CollectorName } from '../config/schema.js';
import type { Logger } from '../logger.js';
import type { MetricDefinition } from '../model/metrics.js';
import { Connection } from './connection.js';
import { LiveMetrics } from './liveMetrics.js';
import { Runner } from './runner.js';
import type { RefreshTask } from './scheduler.js';

const BUDGET_ANNOUNCE_COALESCE_MS = 1_000;

/**
 * A part of what a tenant exports that changes as a unit: one collector's data, the collectors' outcomes, the
 * connection state, the live counters, the request budgets. `version` changes whenever what `write` writes may have
 * changed.
 */
export interface SeriesGroup {
  readonly name: string;
  readonly version: number;
  write(out: SampleWriter): void;
}

/** A tenant's state that outlives the process when saved (src/history/). */
export interface TenantState {
  counters: Array<{ metric: MetricDefinition; labels: Labels; value: number }>;
  snapshots: Partial<Record<CollectorName, unknown>>;
}

/** What a tenant's collectors hold, as exported (src/legacy/ and src/feeds/ read it); empty lists before the first refresh. */
export interface TenantData {
  services: HealthSnapshot['services'];
  issues: readonly Issue[];
  messages: readonly Message[];
}

/** Each collector gets its own settings, nothing else of the configuration. */
function settingsOf(name: CollectorName, tenant: TenantConfig, config: Config): unknown {
  switch (name) {
    case 'issues':
      return { retention: config.issueRetention } satisfies IssuesSettings;
    case 'serviceActivity':
      return { ...config.serviceActivity, selection: tenant.serviceActivity } satisfies ServiceActivitySettings;
    default:
      return {};
  }
}

/**
 * One configured tenant: its connection, one runner per collector, and the groups of series they write. Listeners
 * hear which groups changed after each refresh, so the exposition renders them then, not at scrape time.
 */
export class Tenant {
  readonly name: string;
  readonly runners: Runner[];
  readonly groups: SeriesGroup[];
  readonly connection: Connection;
  readonly #live = new LiveMetrics();
  readonly #listeners: Array<(changed: SeriesGroup[]) => void> = [];
  /** Versions of the groups as last announced to the listeners. */
  readonly #announced = new Map<SeriesGroup, number>();
  /** Bumped when health's services change, for collectors that read them. */
  #servicesVersion = 0;
  #budgetsTimer?: NodeJS.Timeout;
  #stopped = false;

  constructor(readonly config: TenantConfig, global: Config, logger: Logger) {
    this.name = config.name;
    this.connection = new Connection(config, global, this.#live, logger);
    const context = { tenantName: this.name, connection: this.connection, live: this.#live, logger, view: () => this.#view(), maxStalenessMs: global.maxStaleness };
    this.runners = config.collectors.map((name) => new Runner(COLLECTORS[name], settingsOf(name, config, global), global.refresh[name], context));
    const connection = this.connection;
    const live = this.#live;
    const runners = this.runners;
    const tenant = this;
    this.groups = [
      ...runners.map((runner): SeriesGroup => ({
        name: runner.name,
        get version() {
          return runner.version + (runner.collector.readsServices ? tenant.#servicesVersion : 0);
        },
        write: (out) => runner.writeData(out, this.#view()),
      })),
      {
        name: 'collectors',
        get version() {
          return runners.reduce((sum, runner) => sum + runner.version, 0);
        },
        write: (out) => runners.forEach((runner) => runner.writeOutcome(out)),
      },
      { name: 'connection', get version() { return connection.version; }, write: (out) => connection.write(out) },
      { name: 'live', get version() { return live.version; }, write: (out) => live.write(out) },
      { name: 'budgets', get version() { return connection.budgetsVersion; }, write: (out) => connection.writeBudgets(out) },
    ];
  }

  /** Ready once every collector has tried once (successfully or not). */
  get ready(): boolean {
    return this.runners.every((runner) => runner.attempted);
  }

  /** The scheduler's work: one task per collector. */
  get tasks(): RefreshTask[] {
    return this.runners.map((runner) => ({
      name: `${this.name}/${runner.name}`,
      intervalMs: runner.intervalMs,
      refresh: async (signal) => {
        await runner.refresh(signal);
        if (runner.name === 'health') this.#servicesVersion++;
        this.#announce();
      },
    }));
  }

  /** What a restart would lose: the live counters and each collector's last snapshot (its read position). */
  state(): TenantState {
    return {
      counters: this.#live.counters(),
      snapshots: Object.fromEntries(this.runners.filter((runner) => runner.snapshot !== undefined).map((runner) => [runner.name, runner.snapshot])),
    };
  }

  /** Continues from a saved state; only before the first refresh: counters are added, snapshots seed the first fetch. */
  restore(state: TenantState): void {
    for (const { metric, labels, value } of state.counters) this.#live.count(metric, labels, value);
    for (const runner of this.runners) {
      const snapshot = state.snapshots[runner.collector.name];
      if (snapshot !== undefined) runner.seed(snapshot);
    }
  }

  get data(): TenantData {
    const served = <T>(name: string) => this.runners.find((runner) => runner.name === name)?.served as T | undefined;
    return {
      services: served<HealthSnapshot>('health')?.services ?? [],
      issues: served<IssuesSnapshot>('issues')?.issues ?? [],
      messages: served<MessagesSnapshot>('messages')?.messages ?? [],
    };
  }

  /** No more announcements once the scheduler stopped the tenant's refreshes (a reload removed or replaced it). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#budgetsTimer);
  }

  onChange(listener: (changed: SeriesGroup[]) => void): void {
    this.#listeners.push(listener);
  }

  #announce(): void {
    const changed = this.groups.filter((group) => this.#announced.get(group) !== group.version);
    for (const group of changed) this.#announced.set(group, group.version);
    if (changed.length > 0) for (const listener of this.#listeners) listener(changed);
    this.#announceBudgetsWhenTheyGrow();
  }

  /**
   * The budgets grow back by themselves as requests leave their windows; the exposition hears of it then, so it can
   * render them ahead of the scrape like everything else. Requests of one refresh leave within moments of each
   * other: one announcement a second after the first of them covers them all (the budget shows at most that much less
   * than it has, never more).
   */
  #announceBudgetsWhenTheyGrow(): void {
    clearTimeout(this.#budgetsTimer);
    const at = this.connection.budgetsChangeAt();
    if (at === undefined || this.#stopped) return;
    this.#budgetsTimer = setTimeout(() => this.#announce(), Math.max(0, at - Date.now()) + BUDGET_ANNOUNCE_COALESCE_MS).unref();
  }

  #view(): TenantView {
    // Before health's first refresh after a restart, its saved services: issues new while down need their ids.
    const health = this.runners.find((runner) => runner.name === 'health')?.latest as { services: TenantView['services'] } | undefined;
    const services = health?.services ?? [];
    const byName = new Map(services.map((s) => [s.name.toLowerCase(), s.id]));
    return {
      services,
      // An issue whose service is not (yet) in healthOverviews keeps its display name as id rather than vanish.
      serviceIdOf: (name) => byName.get(name.toLowerCase()) ?? name,
    };
  }
}
