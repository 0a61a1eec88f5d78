import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Sample } from '../collectors/types.js';
import { BUILD_INFO, METRICS, OTLP_EXPORTS, type MetricDefinition } from './definitions.js';

export interface TenantMetrics {
  registry: Registry;
  /** Metrics that change with the clock (request budget left): rendered at every scrape, never cached. */
  volatileRegistry: Registry;
  counter(metric: MetricDefinition): Counter<string>;
  graphRequestDuration: Histogram<string>;
}

/**
 * The registry of one tenant: cache metrics are prom-client gauges whose collect() reads `read(name)` at scrape
 * time (reset first, so vanished label sets disappear; never throws), live metrics are counters and a histogram
 * updated as requests happen. One registry per tenant makes /probe?tenant= a plain lookup.
 */
export function createTenantMetrics(read: (metricName: string) => Iterable<Sample>): TenantMetrics {
  const registry = new Registry();
  const volatileRegistry = new Registry();
  const counters = new Map<string, Counter<string>>();
  let histogram: Histogram<string> | undefined;
  for (const def of Object.values(METRICS) as MetricDefinition[]) {
    const common = { name: def.name, help: def.help, labelNames: def.labels as string[], registers: [def.volatile ? volatileRegistry : registry] };
    if (def.source === 'cache') {
      new Gauge({
        ...common,
        collect() {
          this.reset();
          for (const sample of read(def.name)) this.set(sample.labels, sample.value);
        },
      });
    } else if (def.type === 'counter') {
      counters.set(def.name, new Counter(common));
    } else {
      histogram = new Histogram({ ...common, buckets: def.buckets as number[] });
    }
  }
  return {
    registry,
    volatileRegistry,
    counter(metric) {
      const found = counters.get(metric.name);
      if (!found) throw new Error(`${metric.name} is not a live counter`);
      return found;
    },
    graphRequestDuration: histogram!,
  };
}

export interface GlobalMetrics {
  registry: Registry;
  otlpExports: Counter<string>;
}

/** Exporter-wide metrics: build info, OTLP export results and the Node.js process metrics. */
export function createGlobalMetrics(version: string): GlobalMetrics {
  const registry = new Registry();
  const buildInfo = new Gauge({ name: BUILD_INFO.name, help: BUILD_INFO.help, labelNames: BUILD_INFO.labels as string[], registers: [registry] });
  buildInfo.set({ version, nodejs_version: process.version }, 1);
  const otlpExports = new Counter({ name: OTLP_EXPORTS.name, help: OTLP_EXPORTS.help, labelNames: OTLP_EXPORTS.labels as string[], registers: [registry] });
  collectDefaultMetrics({ register: registry });
  // These three are gauges named *_total, which `promtool check metrics` rightly rejects; nodejs_active_handles,
  // nodejs_active_requests and nodejs_active_resources (by type) carry the same information.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  return { registry, otlpExports };
}

/**
 * All families of several registries, each family once, as prom-client JSON: what the OTLP bridge converts. Like
 * joinExpositions(), it concatenates the samples of equal families (label sets never collide across tenant
 * registries, each carries its tenant label) and applies no aggregator, so it holds exactly what /metrics shows.
 */
export async function gather(registries: Registry[]): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
  const collected = await Promise.all(registries.map((registry) => registry.getMetricsAsJSON()));
  const families = new Map<string, MetricObjectWithValues<MetricValue<string>>>();
  for (const family of collected.flat()) {
    const found = families.get(family.name);
    if (found) found.values.push(...family.values);
    else families.set(family.name, { ...family, values: [...family.values] });
  }
  return [...families.values()];
}

/** One registry's exposition split by family: name → its HELP and TYPE lines, and its sample lines ('' if none). */
export type Exposition = Map<string, { header: string; samples: string }>;

export async function expositionOf(registry: Registry): Promise<Exposition> {
  const families: Exposition = new Map();
  // prom-client separates families by a blank line; HELP texts and label values have their newlines escaped.
  for (const block of (await registry.metrics()).split('\n\n')) {
    const helpEnd = block.indexOf('\n');
    const typeEnd = block.indexOf('\n', helpEnd + 1);
    const name = block.slice(0, helpEnd).split(' ', 3)[2];
    if (name === undefined || helpEnd < 0) continue;
    families.set(name, {
      header: typeEnd < 0 ? block.trimEnd() : block.slice(0, typeEnd),
      samples: typeEnd < 0 ? '' : block.slice(typeEnd + 1).trimEnd(),
    });
  }
  return families;
}

/**
 * Text exposition of several registries with each family once: the sample lines of equal families are concatenated
 * under one HELP/TYPE header. Label sets never collide across tenant registries (each carries its tenant label).
 */
export function joinExpositions(parts: Exposition[]): string {
  const families = new Map<string, string[]>();
  for (const part of parts) {
    for (const [name, { header, samples }] of part) {
      let chunks = families.get(name);
      if (!chunks) families.set(name, (chunks = [header]));
      if (samples !== '') chunks.push(samples);
    }
  }
  return `${[...families.values()].map((chunks) => chunks.join('\n')).join('\n')}\n`;
}
