import { COLLECTORS } from './collectors/index.js';
import type { Collector, Labels, Sample, TenantView } from './collectors/types.js';
import type { Config, TenantConfig } from './config/load.js';
import type { CollectorName } from './config/schema.js';
import { TokenProvider } from './auth/tokenProvider.js';
import { RequestBudget } from './graph/budget.js';
import { GraphClient } from './graph/client.js';
import { ExporterError } from './graph/errors.js';
import type { Logger } from './logger.js';
import { METRICS, type MetricDefinition } from './metrics/definitions.js';
import { createTenantMetrics, expositionOf, type Exposition, type TenantMetrics } from './metrics/registry.js';

interface CollectorState {
  snapshot?: unknown;
  attempted: boolean;
  success?: boolean;
  durationSeconds?: number;
  lastSuccess?: Date;
}

/**
 * Everything about one configured tenant: its token provider, Graph client and request budget, the last good
 * snapshot of each collector, and the samples derived from them. Samples are derived once per refresh, so a
 * scrape only copies them (the path from cache to bytes stays short for MSPs with hundreds of tenants).
 */
export class Tenant {
  readonly metrics: TenantMetrics;
  readonly graph: GraphClient;
  readonly budgets: { serviceCommunications: RequestBudget; serviceActivity: RequestBudget };
  readonly collectors: Array<Collector<unknown>>;
  readonly #states = new Map<CollectorName, CollectorState>();
  #samples = new Map<string, Sample[]>();
  #tokenError?: string;
  #tokenExpiry?: Date;
  /** Bumped whenever anything this tenant exports may have changed; keys the rendered cache. */
  #changes = 0;
  #rendered?: { changes: number; exposition: Exposition };

  constructor(readonly config: TenantConfig, private readonly global: Config, private readonly logger: Logger) {
    this.metrics = createTenantMetrics((name) => this.#read(name));
    const tokens = new TokenProvider(config, {
      onTokenRequest: (result, code) => {
        this.#changes++;
        this.metrics.counter(METRICS.tokenRequests).inc({ tenant: config.name, result });
        this.#tokenError = result === 'failure' ? code : undefined;
      },
      onTokenExpiry: (expiresOn) => {
        this.#changes++;
        this.#tokenError = undefined;
        this.#tokenExpiry = expiresOn;
      },
    }, logger);
    for (const result of ['success', 'failure']) this.metrics.counter(METRICS.tokenRequests).inc({ tenant: config.name, result }, 0);
    this.metrics.counter(METRICS.graphThrottled).inc({ tenant: config.name }, 0);
    this.budgets = {
      serviceCommunications: new RequestBudget([
        { name: '1m', limit: global.requestBudget.perMinute, windowMs: 60_000 },
        { name: '1h', limit: global.requestBudget.perHour, windowMs: 3_600_000 },
      ]),
      serviceActivity: new RequestBudget([{ name: '1m', limit: global.serviceActivity.requestsPerMinute, windowMs: 60_000 }]),
    };
    this.graph = new GraphClient({
      graphEndpoint: config.graphEndpoint,
      getToken: () => tokens.getToken(),
      timeoutMs: global.graph.timeout,
      maxRetries: global.graph.maxRetries,
      maxBackoffMs: global.graph.maxBackoff,
      maxPages: global.graph.maxPages,
      pageSize: global.graph.pageSize,
      concurrency: global.graph.concurrency,
      observer: {
        onResponse: (endpoint, code, seconds) => {
          this.#changes++;
          this.metrics.counter(METRICS.graphRequests).inc({ tenant: config.name, endpoint, code });
          this.metrics.graphRequestDuration.observe({ tenant: config.name, endpoint }, seconds);
        },
        onThrottled: () => {
          this.#changes++;
          this.metrics.counter(METRICS.graphThrottled).inc({ tenant: config.name });
        },
      },
    });
    this.collectors = config.collectors.map((name) => COLLECTORS[name]);
    for (const collector of this.collectors) {
      this.#states.set(collector.name, { attempted: false });
      for (const reason of ['graph_error', 'throttled', 'auth'] as const) {
        this.metrics.counter(METRICS.collectorErrors).inc({ tenant: config.name, collector: collector.name, reason }, 0);
      }
    }
  }

  get name(): string {
    return this.config.name;
  }

  /** Ready once every collector has tried once (successfully or not). */
  get ready(): boolean {
    return [...this.#states.values()].every((state) => state.attempted);
  }

  /** Runs one refresh of a collector; on failure keeps the previous snapshot and records why. Never throws. */
  async refresh(collector: Collector<unknown>, signal: AbortSignal): Promise<void> {
    const state = this.#states.get(collector.name)!;
    this.#changes++;
    const started = performance.now();
    const now = new Date();
    let partialFailures = 0;
    const recordFailure = (error: Error, message: string) => {
      const reason = error instanceof ExporterError ? error.reason : 'internal';
      this.metrics.counter(METRICS.collectorErrors).inc({ tenant: this.name, collector: collector.name, reason });
      this.logger.warn({ tenant: this.name, collector: collector.name, reason, err: error.message }, message);
      if (!(error instanceof ExporterError)) this.logger.error({ stack: error.stack }, 'unexpected error');
    };
    try {
      state.snapshot = await collector.fetch({
        graph: this.graph,
        budgets: this.budgets,
        config: this.global,
        tenant: this.config,
        view: this.#view(),
        now,
        signal,
        logger: this.logger,
        count: (metric, labels, amount) => this.metrics.counter(metric).inc({ tenant: this.name, ...labels }, amount),
        partialFailure: (error, detail) => {
          partialFailures++;
          recordFailure(error, `refresh of ${detail} failed; keeping its last good data`);
        },
      }, state.snapshot);
      state.success = partialFailures === 0;
      if (state.success) state.lastSuccess = new Date();
    } catch (error) {
      if (signal.aborted) return;
      state.success = false;
      recordFailure(error as Error, `refresh failed; keeping the last good data${state.snapshot === undefined ? ' (none yet)' : ''}`);
    } finally {
      state.attempted = true;
      state.durationSeconds = (performance.now() - started) / 1_000;
    }
    this.#derive(now);
    this.#changes++;
  }

  /**
   * What this tenant exports, by family. Rendered once after each change (a refresh, a Graph or token request) and
   * served from that rendering until the next one, so a scrape of hundreds of tenants only concatenates text; the
   * clock-dependent families are rendered every time.
   */
  async exposition(): Promise<Exposition[]> {
    if (this.#rendered?.changes !== this.#changes) {
      const changes = this.#changes;
      this.#rendered = { changes, exposition: await expositionOf(this.metrics.registry) };
    }
    return [this.#rendered.exposition, await expositionOf(this.metrics.volatileRegistry)];
  }

  /** Re-derives every collector's samples (issues depend on the services of health, so all at once). */
  #derive(now: Date): void {
    const samples = new Map<string, Sample[]>();
    const out = {
      add: (metric: MetricDefinition, labels: Labels, value: number) => {
        let list = samples.get(metric.name);
        if (!list) samples.set(metric.name, (list = []));
        list.push({ labels: { tenant: this.name, ...labels }, value });
      },
    };
    const view = this.#view();
    for (const collector of this.collectors) {
      const snapshot = this.#states.get(collector.name)?.snapshot;
      if (snapshot !== undefined) collector.write(snapshot, view, out, now, this.global);
    }
    this.#samples = samples;
  }

  #view(): TenantView {
    const services = (this.#states.get('health')?.snapshot as { services: TenantView['services'] } | undefined)?.services ?? [];
    const byName = new Map(services.map((s) => [s.name.toLowerCase(), s.id]));
    return {
      services,
      // An issue whose service is not (yet) in healthOverviews keeps its display name as id rather than vanish.
      serviceIdOf: (name) => byName.get(name.toLowerCase()) ?? name,
    };
  }

  *#read(metricName: string): Iterable<Sample> {
    yield* this.#samples.get(metricName) ?? [];
    const tenant = this.name;
    switch (metricName) {
      case METRICS.collectorSuccess.name:
      case METRICS.collectorDuration.name:
      case METRICS.collectorLastSuccess.name:
      case METRICS.collectorRefreshInterval.name:
        for (const [collector, state] of this.#states) {
          const labels = { tenant, collector };
          if (metricName === METRICS.collectorRefreshInterval.name) yield { labels, value: this.global.refresh[collector] / 1_000 };
          if (metricName === METRICS.collectorSuccess.name && state.success !== undefined) yield { labels, value: state.success ? 1 : 0 };
          if (metricName === METRICS.collectorDuration.name && state.durationSeconds !== undefined) yield { labels, value: state.durationSeconds };
          if (metricName === METRICS.collectorLastSuccess.name && state.lastSuccess) yield { labels, value: state.lastSuccess.getTime() / 1_000 };
        }
        break;
      case METRICS.requestBudgetRemaining.name:
        for (const [api, budget] of Object.entries(this.budgets)) {
          for (const { window, remaining } of budget.remaining()) yield { labels: { tenant, api, window }, value: remaining };
        }
        break;
      case METRICS.tokenError.name:
        if (this.#tokenError) yield { labels: { tenant, error_code: this.#tokenError }, value: 1 };
        break;
      case METRICS.tokenExpiry.name:
        if (this.#tokenExpiry) yield { labels: { tenant }, value: this.#tokenExpiry.getTime() / 1_000 };
        break;
      case METRICS.credentialExpiry.name: {
        const credential = this.config.credential;
        if (credential.kind === 'certificate') yield { labels: { tenant, kind: 'certificate' }, value: credential.notAfter.getTime() / 1_000 };
        else if (credential.expiresAt) yield { labels: { tenant, kind: 'secret' }, value: credential.expiresAt.getTime() / 1_000 };
        break;
      }
    }
  }
}
