import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Sample } from '../collectors/types.js';
import { BUILD_INFO, METRICS, type MetricDefinition } from './definitions.js';

export interface TenantMetrics {
  registry: Registry;
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
  const counters = new Map<string, Counter<string>>();
  let histogram: Histogram<string> | undefined;
  for (const def of Object.values(METRICS) as MetricDefinition[]) {
    const common = { name: def.name, help: def.help, labelNames: def.labels as string[], registers: [registry] };
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
    counter(metric) {
      const found = counters.get(metric.name);
      if (!found) throw new Error(`${metric.name} is not a live counter`);
      return found;
    },
    graphRequestDuration: histogram!,
  };
}

/** Exporter-wide metrics: build info and the Node.js process metrics. */
export function createGlobalRegistry(version: string): Registry {
  const registry = new Registry();
  const buildInfo = new Gauge({ name: BUILD_INFO.name, help: BUILD_INFO.help, labelNames: BUILD_INFO.labels as string[], registers: [registry] });
  buildInfo.set({ version, nodejs_version: process.version }, 1);
  collectDefaultMetrics({ register: registry });
  // These three are gauges named *_total, which `promtool check metrics` rightly rejects; nodejs_active_handles,
  // nodejs_active_requests and nodejs_active_resources (by type) carry the same information.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  return registry;
}

/** All families of several registries, each family once, as prom-client JSON (what /metrics and OTLP render). */
export async function gather(registries: Registry[]): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
  const collected = await Promise.all(registries.map((registry) => registry.getMetricsAsJSON()));
  // Label sets never collide across tenant registries (each carries its tenant label), so the default "sum"
  // aggregation only concatenates families.
  return (await AggregatorRegistry.aggregate(collected).getMetricsAsJSON()) as MetricObjectWithValues<MetricValue<string>>[];
}

export async function render(registries: Registry[]): Promise<string> {
  if (registries.length === 1) return registries[0]!.metrics();
  const collected = await Promise.all(registries.map((registry) => registry.getMetricsAsJSON()));
  return AggregatorRegistry.aggregate(collected).metrics();
}
