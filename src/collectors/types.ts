import type { CollectorName } from '../config/schema.js';
import type { RequestBudget } from '../graph/budget.js';
import type { GraphClient } from '../graph/client.js';
import type { Logger } from '../logger.js';
import type { MetricDefinition } from '../model/metrics.js';

export type Labels = Record<string, string>;

/**
 * Receives the samples of one tenant; adds the `tenant` label itself. `suffix` names a histogram's `_bucket`,
 * `_sum` and `_count` series. The exposition renders each sample to its text line as it arrives; OTLP collects
 * data points: both from the same call, so neither keeps a second copy of the series.
 */
export interface SampleWriter {
  add(metric: MetricDefinition, labels: Labels, value: number, suffix?: '_bucket' | '_sum' | '_count'): void;
}

/** What a collector may read of the tenant's other data: issues carry the service name and need its id. */
export interface TenantView {
  readonly services: ReadonlyArray<{ id: string; name: string; status: string }>;
  serviceIdOf(serviceName: string): string;
}

export interface FetchContext<Settings> {
  graph: GraphClient;
  /** The tenant's request budgets: service communications (240/min, 800/h) and the Monitoring API. */
  budgets: { serviceCommunications: RequestBudget; serviceActivity: RequestBudget };
  /** This collector's own settings, nothing else of the configuration. */
  settings: Settings;
  tenantName: string;
  view: TenantView;
  now: Date;
  signal: AbortSignal;
  /** Adds to a live counter (amount 0 makes the series exist). */
  count(metric: MetricDefinition, labels: Labels, amount: number): void;
  /** Drops every series of a live counter whose labels include `labels` (a service that vanished). */
  forget(metric: MetricDefinition, labels: Labels): void;
  /**
   * Records a failure of part of the refresh (one Monitoring API function, say) while the rest succeeded: the
   * refresh counts as failed and the error is counted and logged, but the returned snapshot is kept, because
   * counters were already advanced for the parts that succeeded.
   */
  partialFailure(error: Error, detail: string): void;
  logger: Logger;
}

/**
 * One source of Graph data. The runner (not the collector) schedules, times and records success; a collector
 * fetches a snapshot (throwing on any failure, so the previous snapshot stays) and turns a snapshot into samples.
 * `write` is pure: the same snapshot, view and time always write the same samples.
 */
export interface Collector<Snapshot = unknown, Settings = unknown> {
  readonly name: CollectorName;
  /** Whether `write` reads the view (the services of health), so a health refresh must write it again. */
  readonly readsServices?: boolean;
  fetch(context: FetchContext<Settings>, previous: Snapshot | undefined): Promise<Snapshot>;
  write(snapshot: Snapshot, view: TenantView, out: SampleWriter, now: Date, settings: Settings): void;
}
