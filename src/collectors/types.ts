import type { Config } from '../config/load.js';
import type { CollectorName } from '../config/schema.js';
import type { GraphClient } from '../graph/client.js';
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
  /** Passed to every Graph request: the tenant's service communications request budget. */
  budget: import('../graph/budget.js').RequestBudget;
  config: Config;
  view: TenantView;
  now: Date;
  signal: AbortSignal;
  /** Adds to a live counter (amount 0 makes the series exist). */
  count(metric: MetricDefinition, labels: Labels, amount: number): void;
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
