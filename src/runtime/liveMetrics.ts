import type { Labels, SampleWriter } from '../collectors/types.js';
import type { MetricDefinition } from '../model/metrics.js';

interface CounterSeries {
  labels: Labels;
  value: number;
}

interface HistogramSeries {
  labels: Labels;
  /** Observations per bucket (not cumulative), one slot per bound. */
  counts: number[];
  sum: number;
  count: number;
}

/**
 * The live counters and the request-duration histogram of one tenant: updated as requests and refreshes happen,
 * written through the same SampleWriter as everything else. `version` changes with every update, so the exposition
 * re-renders them only when they changed.
 */
export class LiveMetrics {
  readonly #counters = new Map<MetricDefinition, Map<string, CounterSeries>>();
  readonly #histograms = new Map<MetricDefinition, Map<string, HistogramSeries>>();
  #version = 0;

  get version(): number {
    return this.#version;
  }

  /** Adds `amount` (0 creates the series, so `rate()` and `absent()` behave from the first scrape). */
  count(metric: MetricDefinition, labels: Labels, amount = 1): void {
    const series = seriesOf(this.#counters, metric);
    const key = keyOf(metric, labels);
    const found = series.get(key);
    if (found) found.value += amount;
    else series.set(key, { labels, value: amount });
    this.#version++;
  }

  observe(metric: MetricDefinition, labels: Labels, value: number): void {
    const series = seriesOf(this.#histograms, metric);
    const key = keyOf(metric, labels);
    let found = series.get(key);
    if (!found) series.set(key, (found = { labels, counts: metric.buckets!.map(() => 0), sum: 0, count: 0 }));
    const bucket = metric.buckets!.findIndex((bound) => value <= bound);
    if (bucket >= 0) found.counts[bucket]!++;
    found.sum += value;
    found.count++;
    this.#version++;
  }

  /** Drops every series of `metric` whose labels include all of `match`. */
  forget(metric: MetricDefinition, match: Labels): void {
    const series = this.#counters.get(metric);
    if (!series) return;
    for (const [key, { labels }] of series) {
      if (Object.entries(match).every(([name, value]) => labels[name] === value)) {
        series.delete(key);
        this.#version++;
      }
    }
  }

  /** Every counter series and its value, to be saved and added back after a restart with `count`. */
  counters(): Array<{ metric: MetricDefinition; labels: Labels; value: number }> {
    return [...this.#counters].flatMap(([metric, series]) => [...series.values()].map(({ labels, value }) => ({ metric, labels, value })));
  }

  write(out: SampleWriter): void {
    for (const [metric, series] of this.#counters) for (const { labels, value } of series.values()) out.add(metric, labels, value);
    for (const [metric, series] of this.#histograms) {
      for (const { labels, counts, sum, count } of series.values()) {
        let cumulative = 0;
        metric.buckets!.forEach((bound, i) => {
          cumulative += counts[i]!;
          out.add(metric, { ...labels, le: String(bound) }, cumulative, '_bucket');
        });
        out.add(metric, { ...labels, le: '+Inf' }, count, '_bucket');
        out.add(metric, labels, sum, '_sum');
        out.add(metric, labels, count, '_count');
      }
    }
  }
}

function seriesOf<T>(store: Map<MetricDefinition, Map<string, T>>, metric: MetricDefinition): Map<string, T> {
  let series = store.get(metric);
  if (!series) store.set(metric, (series = new Map()));
  return series;
}

/** The label values in the definition's order: the same labels always make the same key, whatever their order. */
function keyOf(metric: MetricDefinition, labels: Labels): string {
  return metric.labels.map((name) => labels[name] ?? '').join('\u0000');
}
