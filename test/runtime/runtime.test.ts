import { afterEach, describe, expect, it } from 'vitest';
import { healthOverviewsCollector } from '../../src/collectors/healthOverviews.js';
import type { FetchContext, Labels, SampleWriter } from '../../src/collectors/types.js';
import { METRICS, type MetricDefinition } from '../../src/model/metrics.js';
import { LiveMetrics } from '../../src/runtime/liveMetrics.js';
import { Scheduler } from '../../src/runtime/scheduler.js';

function rows(live: LiveMetrics) {
  const written: Array<{ metric: string; labels: Labels; value: number; suffix?: string }> = [];
  const out: SampleWriter = { add: (metric, labels, value, suffix) => written.push({ metric: metric.name, labels, value, suffix }) };
  live.write(out);
  return written;
}

describe('live metrics', () => {
  it('adds by label set whatever the label order, and writes a cumulative histogram', () => {
    const live = new LiveMetrics();
    live.count(METRICS.graphRequests, { endpoint: 'issues', code: '200' });
    live.count(METRICS.graphRequests, { code: '200', endpoint: 'issues' }, 2);
    for (const seconds of [0.01, 0.3, 0.3, 100]) live.observe(METRICS.graphRequestDuration, { endpoint: 'issues' }, seconds);
    const written = rows(live);
    expect(written.filter((r) => r.metric === METRICS.graphRequests.name).map((r) => r.value)).toEqual([3]);
    const buckets = written.filter((r) => r.suffix === '_bucket').map((r) => [r.labels.le, r.value]);
    expect(buckets).toEqual([['0.05', 1], ['0.1', 1], ['0.25', 1], ['0.5', 3], ['1', 3], ['2.5', 3], ['5', 3], ['10', 3], ['30', 3], ['+Inf', 4]]);
    expect(written.find((r) => r.suffix === '_sum')?.value).toBeCloseTo(100.61);
  });

  it('forgets the counters of a service that left healthOverviews, and only those', async () => {
    const live = new LiveMetrics();
    const services = (ids: string[]) => ids.map((id) => ({ id, service: `${id} service`, status: 'serviceOperational' }));
    const fetch = (ids: string[], previous?: Awaited<ReturnType<typeof healthOverviewsCollector.fetch>>) => healthOverviewsCollector.fetch({
      graph: { getCollection: async () => services(ids) },
      budgets: {}, settings: {}, tenantName: 't', now: new Date(), signal: new AbortController().signal,
      view: { services: [], serviceIdOf: (n: string) => n },
      count: (metric: MetricDefinition, labels: Labels, amount: number) => live.count(metric, labels, amount),
      forget: (metric: MetricDefinition, labels: Labels) => live.forget(metric, labels),
      partialFailure: () => undefined, logger: {},
    } as unknown as FetchContext<unknown>, previous);
    const first = await fetch(['Exchange', 'SharePoint', 'Teams']);
    await fetch(['Exchange', 'Teams'], first);
    const ids = new Set(rows(live).map((r) => r.labels.service_id));
    expect([...ids].sort()).toEqual(['Exchange', 'Teams']);
    expect(rows(live).filter((r) => r.metric === METRICS.issuesObserved.name)).toHaveLength(4); // 2 services × incident, advisory
  });
});

describe('scheduler', () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  afterEach(() => {
    process.off('warning', onWarning);
  });

  it('runs hundreds of loops without MaxListenersExceededWarning and stops them all', async () => {
    process.on('warning', onWarning);
    const scheduler = new Scheduler();
    const runs = new Map<string, number>();
    const tasks = Array.from({ length: 300 }, (_, i) => ({
      name: `t${i}`, intervalMs: 20,
      refresh: async (signal: AbortSignal) => {
        runs.set(`t${i}`, (runs.get(`t${i}`) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 1));
        expect(signal.aborted).toBe(false);
      },
    }));
    scheduler.start(tasks);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await scheduler.stop();
    const stoppedAt = [...runs.values()].reduce((a, b) => a + b, 0);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect([...runs.values()].reduce((a, b) => a + b, 0)).toBe(stoppedAt);
    expect(runs.size).toBe(300);
    expect(Math.min(...runs.values())).toBeGreaterThanOrEqual(2);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('stops one group of loops and keeps the others', async () => {
    const scheduler = new Scheduler();
    const runs = { a: 0, b: 0 };
    scheduler.start([{ name: 'a', intervalMs: 10, refresh: async () => void runs.a++ }]);
    scheduler.start([{ name: 'b', intervalMs: 10, refresh: async () => void runs.b++ }]);
    await scheduler.stop(['a']);
    const a = runs.a;
    const b = runs.b;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(runs.a).toBe(a);
    expect(runs.b).toBeGreaterThan(b);
    await scheduler.stop();
  });
});
