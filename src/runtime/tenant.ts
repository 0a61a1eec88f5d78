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

/**
 * A part of what a tenant exports that changes as a unit: one collector's data, the collectors' outcomes, the
 * connection state, the live counters, the request budgets. `version` changes whenever what `write` writes may have
 * changed; a volatile group (the budgets, which follow the clock) has to be written at every read.
 */
export interface SeriesGroup {
  readonly name: string;
  readonly volatile: boolean;
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
        volatile: false,
        get version() {
          return runner.version + (runner.collector.readsServices ? tenant.#servicesVersion : 0);
        },
        write: (out) => runner.writeData(out, this.#view()),
      })),
      {
        name: 'collectors', volatile: false,
        get version() {
          return runners.reduce((sum, runner) => sum + runner.version, 0);
        },
        write: (out) => runners.forEach((runner) => runner.writeOutcome(out)),
      },
      { name: 'connection', volatile: false, get version() { return connection.version; }, write: (out) => connection.write(out) },
      { name: 'live', volatile: false, get version() { return live.version; }, write: (out) => live.write(out) },
      { name: 'budgets', volatile: true, version: 0, write: (out) => connection.writeBudgets(out) },
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

  onChange(listener: (changed: SeriesGroup[]) => void): void {
    this.#listeners.push(listener);
  }

  #announce(): void {
    const changed = this.groups.filter((group) => !group.volatile && this.#announced.get(group) !== group.version);
    for (const group of changed) this.#announced.set(group, group.version);
    if (changed.length > 0) for (const listener of this.#listeners) listener(changed);
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
