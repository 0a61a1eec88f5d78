import type { Config, TenantConfig } from '../config/load.js';
import type { CollectorName } from '../config/schema.js';
import type { RequestBudget } from '../graph/budget.js';
import type { GraphClient } from '../graph/client.js';
import type { Logger } from '../logger.js';
import type { MetricDefinition } from '../metrics/definitions.js';

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

/** Receives the samples a collector derives from its snapshot; adds the `tenant` label itself. */
export interface SampleWriter {
  add(metric: MetricDefinition, labels: Labels, value: number): void;
}

/** What a collector may read of the tenant's other data: issues carry the service name and need its id. */
export interface TenantView {
  readonly services: ReadonlyArray<{ id: string; name: string; status: string }>;
  serviceIdOf(serviceName: string): string;
}

export interface FetchContext {
  graph: GraphClient;
  /** The tenant's request budgets: service communications (240/min, 800/h) and the Monitoring API. */
  budgets: { serviceCommunications: RequestBudget; serviceActivity: RequestBudget };
  config: Config;
  tenant: TenantConfig;
  view: TenantView;
  now: Date;
  signal: AbortSignal;
  /** Adds to a live counter (amount 0 makes the series exist). */
  count(metric: MetricDefinition, labels: Labels, amount: number): void;
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
 */
export interface Collector<Snapshot = unknown> {
  readonly name: CollectorName;
  fetch(context: FetchContext, previous: Snapshot | undefined): Promise<Snapshot>;
  write(snapshot: Snapshot, view: TenantView, out: SampleWriter, now: Date, config: Config): void;
}
