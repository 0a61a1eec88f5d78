import type { Registry } from 'prom-client';
import type { Labels, SampleWriter } from '../collectors/types.js';
import { capLabelValue } from '../model/labels.js';
import { METRICS, type MetricDefinition } from '../model/metrics.js';
import type { Tenant } from '../runtime/tenant.js';
import type { PromFamily } from './push.js';

type Values = PromFamily['values'][number]['labels'];

/**
 * Caps the label values of a fresh `labels` object in place, as the exposition caps them (renderSample in
 * src/exposition/render.ts), so OTLP equals /metrics.
 */
function capped<T extends Values>(labels: T): T {
  for (const key in labels) {
    const value = labels[key];
    if (typeof value === 'string') (labels as Values)[key] = capLabelValue(value);
  }
  return labels;
}

/**
 * Every family /metrics shows, as data points: the tenants' series groups write through this SampleWriter from the
 * same snapshots (and the same refresh times) the exposition rendered, and the exporter-wide families come from the
 * same prom-client registry. Nothing is parsed back from text.
 */
export async function gather(tenants: Iterable<Pick<Tenant, 'name' | 'groups'>>, globalRegistry: Registry): Promise<PromFamily[]> {
  const families = new Map<string, PromFamily>();
  for (const family of await globalRegistry.getMetricsAsJSON()) {
    families.set(family.name, { ...family, values: family.values.map((value) => ({ ...value, labels: capped({ ...value.labels }) })) });
  }
  // Every tenant family, with or without samples, as /metrics writes every header.
  for (const { name, help, type } of Object.values(METRICS) as MetricDefinition[]) if (!families.has(name)) families.set(name, { name, help, type, values: [] });
  for (const tenant of tenants) {
    const out: SampleWriter = {
      add(metric: MetricDefinition, labels: Labels, value: number, suffix?: string) {
        families.get(metric.name)!.values.push({ labels: capped({ tenant: tenant.name, ...labels }), value, metricName: metric.name + (suffix ?? '') });
      },
    };
    for (const group of tenant.groups) group.write(out);
  }
  return [...families.values()];
}
