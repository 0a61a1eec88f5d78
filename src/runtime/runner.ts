import type { Collector, SampleWriter, TenantView } from '../collectors/types.js';
import type { Logger } from '../logger.js';
import { ExporterError, reasonOf, ERROR_REASONS } from '../model/errors.js';
import { METRICS } from '../model/metrics.js';
import type { Connection } from './connection.js';
import type { LiveMetrics } from './liveMetrics.js';

export interface RunnerContext {
  tenantName: string;
  connection: Connection;
  live: LiveMetrics;
  logger: Logger;
  /** The tenant's services as health last saw them (issues need their ids). */
  view(): TenantView;
  /** Without a successful refresh for this long, a collector's data series are no longer written. */
  maxStalenessMs: number;
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
}

/**
 * Runs one collector of one tenant, as node_exporter's `execute()` runs its collectors: times each refresh, keeps the
 * last good snapshot when a refresh fails, counts failures by reason, and writes the outcome self-metrics. The
 * collector only fetches and writes samples.
 *
 * The last good snapshot is exported for at most `maxStalenessMs` after the last successful refresh (or the start,
 * when there was none): the first failed refresh after that withholds it, so no half-true series stays exported
 * forever, while `writeOutcome` goes on (success 0, the last success time) for M365DataStale. The snapshot itself is
 * kept for the next fetch (issues compare with it, serviceActivity resumes from it). Deciding at a refresh, not by
 * the clock, keeps the change inside the refresh that `version` and the tenant's announcement already cover, so
 * /metrics and OTLP drop the data together; it comes at most one interval late.
 */
export class Runner<Snapshot = unknown, Settings = unknown> {
  #snapshot?: Snapshot;
  /** A snapshot kept from before a restart: the first fetch compares with it, nothing exports it. */
  #seed?: Snapshot;
  /** The time of the refresh that produced the snapshot: writing it again later writes the same samples. */
  #fetchedAt = new Date(0);
  #attempted = false;
  #success?: boolean;
  #durationSeconds?: number;
  #lastSuccess?: Date;
  #version = 0;
  readonly #now: () => number;
  readonly #startedAt: number;
  /** No successful refresh for maxStaleness, as of the latest refresh: the data is not written. */
  #withheld = false;

  constructor(
    readonly collector: Collector<Snapshot, Settings>,
    private readonly settings: Settings,
    readonly intervalMs: number,
    private readonly context: RunnerContext,
  ) {
    for (const reason of ERROR_REASONS) context.live.count(METRICS.collectorErrors, { collector: collector.name, reason }, 0);
    this.#now = context.now ?? Date.now;
    this.#startedAt = this.#now();
  }

  get name(): string {
    return this.collector.name;
  }

  get attempted(): boolean {
    return this.#attempted;
  }

  /** Changes after every refresh: what `writeData` and `writeOutcome` write may have changed. */
  get version(): number {
    return this.#version;
  }

  /** One refresh; on failure keeps the previous snapshot and records why. Never throws. */
  async refresh(signal: AbortSignal): Promise<void> {
    const { tenantName, connection, live, logger } = this.context;
    const started = performance.now();
    const now = new Date(this.#now());
    let partialFailures = 0;
    const recordFailure = (error: Error, message: string) => {
      const reason = reasonOf(error);
      live.count(METRICS.collectorErrors, { collector: this.name, reason });
      logger.warn({ tenant: tenantName, collector: this.name, reason, err: error.message }, message);
      if (!(error instanceof ExporterError)) logger.error({ stack: error.stack }, 'unexpected error');
    };
    try {
      const snapshot = await this.collector.fetch({
        graph: connection.graph,
        budgets: connection.budgets,
        settings: this.settings,
        tenantName,
        view: this.context.view(),
        now,
        signal,
        logger,
        count: (metric, labels, amount) => live.count(metric, labels, amount),
        forget: (metric, labels) => live.forget(metric, labels),
        partialFailure: (error, detail) => {
          partialFailures++;
          recordFailure(error, `refresh of ${detail} failed; keeping its last good data`);
        },
      }, this.#snapshot ?? this.#seed);
      this.#snapshot = snapshot;
      this.#fetchedAt = now;
      this.#success = partialFailures === 0;
      if (this.#success) this.#lastSuccess = new Date(this.#now());
    } catch (error) {
      if (signal.aborted) return;
      this.#success = false;
      recordFailure(error as Error, `refresh failed; keeping the last good data${this.#snapshot === undefined ? ' (none yet)' : ''}`);
    } finally {
      this.#attempted = true;
      this.#durationSeconds = (performance.now() - started) / 1_000;
      const withheld = this.#success === false && this.#now() - (this.#lastSuccess?.getTime() ?? this.#startedAt) > this.context.maxStalenessMs;
      if (withheld && !this.#withheld && this.#snapshot !== undefined) {
        logger.warn({ tenant: tenantName, collector: this.name, maxStalenessMs: this.context.maxStalenessMs }, 'no successful refresh for maxStaleness; its data series are no longer exported');
      }
      this.#withheld = withheld;
      this.#version++;
    }
  }

  /** The samples of the last good snapshot: nothing before the first success, nothing while withheld. */
  writeData(out: SampleWriter, view: TenantView): void {
    if (this.#snapshot !== undefined && !this.#withheld) this.collector.write(this.#snapshot, view, out, this.#fetchedAt, this.settings);
  }

  /** Success, duration, last success and interval of this collector. */
  writeOutcome(out: SampleWriter): void {
    const labels = { collector: this.name };
    out.add(METRICS.collectorRefreshInterval, labels, this.intervalMs / 1_000);
    if (this.#success !== undefined) out.add(METRICS.collectorSuccess, labels, this.#success ? 1 : 0);
    if (this.#durationSeconds !== undefined) out.add(METRICS.collectorDuration, labels, this.#durationSeconds);
    if (this.#lastSuccess) out.add(METRICS.collectorLastSuccess, labels, this.#lastSuccess.getTime() / 1_000);
  }

  /**
   * Gives the first fetch a previous snapshot saved before a restart, so it counts what changed since then (issues
   * new since, Monitoring API buckets settled since) instead of taking a new baseline. Never exported.
   */
  seed(snapshot: Snapshot): void {
    if (this.#snapshot === undefined) this.#seed = snapshot;
  }

  /** The snapshot, or before the first success the one saved before a restart: for the view (health's services), never exported. */
  get latest(): Snapshot | undefined {
    return this.#snapshot ?? this.#seed;
  }

  /** The snapshot as exported: none before the first success, none while withheld (the legacy API and the feeds). */
  get served(): Snapshot | undefined {
    return this.#withheld ? undefined : this.#snapshot;
  }

  /** The snapshot, for the tenant's view (health's services). */
  get snapshot(): Snapshot | undefined {
    return this.#snapshot;
  }
}
