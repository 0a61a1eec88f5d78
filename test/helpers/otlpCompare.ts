import { parseExposition } from './exposition.js';
import { seriesKey, toPromSamples, type OtlpMetric } from './otlpReceiver.js';

/** Families whose values legitimately move between a scrape and the next export even without a refresh. */
const MOVING = new Set([
  'm365_exporter_graph_request_budget_remaining', // a sliding window: requests age out of it
  'm365_exporter_otlp_exports_total', // counts the exports themselves
]);

export interface Comparison {
  /** `# TYPE` families of /metrics, by name. */
  families: Map<string, string>;
  /** Series of each family on /metrics and in the export (histograms: one series per label set). */
  seriesCounts: Map<string, { metrics: number; otlp: number }>;
  /** Stable m365_* samples compared value by value. */
  comparedSamples: number;
  /** Differences, empty when the export shows what /metrics shows. */
  differences: string[];
}

/**
 * Compares one /metrics text with one decoded OTLP export: the same families with the matching OTLP kind, the same
 * number of series in every m365_* family, and the same value for every sample of the m365_* families that stay still between refreshes.
 */
export function compareWithMetrics(text: string, metrics: OtlpMetric[]): Comparison {
  const families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  const differences: string[] = [];
  const byName = new Map(metrics.map((m) => [m.name, m]));
  if (byName.size !== metrics.length) differences.push('an OTLP metric name appears twice');
  for (const [name, type] of families) {
    const metric = byName.get(name);
    const expected = { gauge: 'gauge', counter: 'sum', histogram: 'histogram' }[type];
    if (!metric) differences.push(`${name}: missing from the export`);
    else if (metric.kind !== expected) differences.push(`${name}: ${type} exported as ${metric.kind}`);
    else if (metric.kind !== 'gauge' && metric.temporality !== 2) differences.push(`${name}: not cumulative`);
    else if (metric.kind === 'sum' && !metric.isMonotonic) differences.push(`${name}: counter not monotonic`);
  }
  for (const name of byName.keys()) if (!families.has(name)) differences.push(`${name}: exported but not on /metrics`);

  const scraped = parseExposition(text);
  const familyOf = (sample: { name: string }) => (families.has(sample.name) ? sample.name : sample.name.replace(/_(bucket|sum|count)$/, ''));
  const exported = toPromSamples(metrics);
  const seriesCounts = new Map<string, { metrics: number; otlp: number }>();
  for (const name of families.keys()) {
    const type = families.get(name);
    const count = (samples: Array<{ name: string; labels: Record<string, string> }>) =>
      samples.filter((s) => (type === 'histogram' ? s.name === `${name}_count` : s.name === name)).length;
    seriesCounts.set(name, { metrics: count(scraped), otlp: count(exported) });
    // Node.js process families may gain a series between a scrape and an export (a new GC kind, a new handle type).
    if (name.startsWith('m365_') && count(scraped) !== count(exported)) differences.push(`${name}: ${count(scraped)} series on /metrics, ${count(exported)} exported`);
  }

  const stable = (sample: { name: string }) => familyOf(sample).startsWith('m365_') && !MOVING.has(familyOf(sample));
  const exportedValues = new Map(exported.filter(stable).map((s) => [seriesKey(s), s.value]));
  let comparedSamples = 0;
  for (const sample of scraped.filter(stable)) {
    const key = seriesKey(sample);
    comparedSamples++;
    if (!exportedValues.has(key)) differences.push(`${key}: not exported`);
    else if (exportedValues.get(key) !== sample.value) differences.push(`${key}: ${sample.value} on /metrics, ${exportedValues.get(key)} exported`);
    exportedValues.delete(key);
  }
  for (const key of exportedValues.keys()) differences.push(`${key}: exported but not on /metrics`);
  return { families, seriesCounts, comparedSamples, differences };
}
