import { getMaxListeners } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { healthOverviewsCollector } from '../../src/collectors/healthOverviews.js';
import { messagesCollector } from '../../src/collectors/messages.js';
import type { Collector, FetchContext, Labels, SampleWriter } from '../../src/collectors/types.js';
import { GraphError } from '../../src/model/errors.js';
import { METRICS, type MetricDefinition } from '../../src/model/metrics.js';
import { LiveMetrics } from '../../src/runtime/liveMetrics.js';
import { Runner, type RunnerContext } from '../../src/runtime/runner.js';
import { Scheduler, nextRefreshAt, phaseOf } from '../../src/runtime/scheduler.js';
import { waitFor } from '../helpers/wait.js';

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
      graph: { readCollection: async () => ({ changed: true, items: services(ids), digest: ids.join() }) },
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

describe('collectors reading what Graph answered before', () => {
  it('keep their snapshot when the answer is unchanged, less the posts that ended since, and make a new one when it changed', async () => {
    const day = 86_400_000;
    const post = (id: string, endMs: number) => ({
      id, title: id, category: 'stayInformed', severity: 'normal', isMajorChange: false, services: [], tags: [],
      startDateTime: new Date(0).toISOString(), endDateTime: new Date(endMs).toISOString(), lastModifiedDateTime: new Date(0).toISOString(),
      actionRequiredByDateTime: null, body: { contentType: 'html', content: `<p>${id}</p>` },
    });
    let answer: { changed: boolean; items?: unknown[]; digest?: string } = { changed: true, items: [post('MC1', 10 * day), post('MC2', 3 * day)], digest: 'd1' };
    const fetch = (nowMs: number, previous?: Awaited<ReturnType<typeof messagesCollector.fetch>>) => messagesCollector.fetch({
      graph: { readCollection: async (_path: string, _options: unknown, since: string | undefined) => (answer.digest === since ? { changed: false } : answer) },
      budgets: {}, settings: {}, tenantName: 't', now: new Date(nowMs), signal: new AbortController().signal,
      view: { services: [], serviceIdOf: (n: string) => n }, count: () => undefined, forget: () => undefined, partialFailure: () => undefined, logger: {},
    } as unknown as FetchContext<unknown>, previous);
    const first = await fetch(day);
    expect(first.messages.map((m) => m.id)).toEqual(['MC1', 'MC2']);
    expect(await fetch(2 * day, first)).toBe(first);
    const later = await fetch(5 * day, first);
    expect(later.messages.map((m) => m.id)).toEqual(['MC1']);
    expect(later.source).toBe('d1');
    answer = { changed: true, items: [post('MC3', 10 * day)], digest: 'd2' };
    expect((await fetch(5 * day, later)).messages.map((m) => m.id)).toEqual(['MC3']);
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
    const signals = new Set<AbortSignal>();
    const tasks = Array.from({ length: 300 }, (_, i) => ({
      name: `t${i}`, intervalMs: 20,
      refresh: async (signal: AbortSignal) => {
        signals.add(signal);
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
    // One signal per loop, never one shared by all (which collected a listener per loop: the warning past ten).
    expect(signals.size).toBe(300);
    expect(Math.min(...runs.values())).toBeGreaterThanOrEqual(2);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('lets one refresh wait on its signal many times at once (the Monitoring API reads 40 functions) without a warning', async () => {
    process.on('warning', onWarning);
    const scheduler = new Scheduler();
    let done = false;
    let limit = 0;
    scheduler.start([{
      name: 'many', intervalMs: 60_000,
      refresh: async (signal: AbortSignal) => {
        // vitest's workers swallow process warnings, so the limit itself is checked: above 40 waits at once.
        limit = getMaxListeners(signal);
        await Promise.all(Array.from({ length: 40 }, () => new Promise((resolve) => {
          const timer = setTimeout(resolve, 5);
          signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
        })));
        done = true;
      },
    }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await scheduler.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(done).toBe(true);
    expect(limit).toBeGreaterThanOrEqual(40);
  });

  it('spreads a fleet\'s refreshes over the interval, whatever their start: each task at the phase its name hashes to', () => {
    const intervalMs = 60_000;
    const phases = Array.from({ length: 500 }, (_, i) => phaseOf(`tenant${String(i).padStart(4, '0')}/health`, intervalMs));
    expect(phaseOf('tenant0000/health', intervalMs)).toBe(phases[0]); // stable: the same second of the minute after a restart
    expect(Math.min(...phases)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...phases)).toBeLessThan(intervalMs);
    // Each tenth of the minute holds about a tenth of the fleet (50): no second of it holds the whole fleet.
    const tenths = Array.from({ length: 10 }, (_, k) => phases.filter((p) => Math.floor(p / (intervalMs / 10)) === k).length);
    expect(Math.min(...tenths)).toBeGreaterThan(25);
    expect(Math.max(...tenths)).toBeLessThan(75);
  });

  it('schedules the next refresh at the task\'s phase, never more than one interval (and a tenth of a second) after the last start', () => {
    const interval = 60_000;
    const phase = 15_000;
    const minute = 1_800_000_000_000 - (1_800_000_000_000 % interval);
    // First refresh at an arbitrary time: the next is at the phase, sooner than a whole interval.
    expect(nextRefreshAt(minute + 40_000, interval, phase)).toBe(minute + interval + phase);
    expect(nextRefreshAt(minute + 5_000, interval, phase)).toBe(minute + phase);
    // On its phase: exactly one interval later.
    expect(nextRefreshAt(minute + phase, interval, phase)).toBe(minute + interval + phase);
    // Started late by a little: still the next phase, not one interval after the late start.
    expect(nextRefreshAt(minute + phase + 700, interval, phase)).toBe(minute + interval + phase);
    // A timer that fired a millisecond early: the next phase, not its own phase a millisecond later (twice at once).
    expect(nextRefreshAt(minute + phase - 1, interval, phase)).toBe(minute + interval + phase);
    for (const started of [minute, minute + 1, minute + 59_999, minute + phase - 1, minute + phase + 99, minute + phase + 101]) {
      const next = nextRefreshAt(started, interval, phase);
      expect(next - started).toBeGreaterThan(100);
      expect(next - started).toBeLessThanOrEqual(interval + 100);
      expect(((next - phase) % interval + interval) % interval).toBe(0);
    }
  });

  it('runs the refreshes after the first at the phase of the tenant, all its collectors together', async () => {
    const scheduler = new Scheduler();
    const intervalMs = 1_000;
    const starts = { health: [] as number[], issues: [] as number[] };
    const task = (collector: keyof typeof starts) => ({ name: `tenant-phase/${collector}`, intervalMs, refresh: async () => void starts[collector].push(Date.now()) });
    scheduler.start([task('health'), task('issues')], { group: 'tenant-phase' });
    await waitFor('three refreshes of each', () => (starts.health.length >= 3 && starts.issues.length >= 3) || undefined, 5_000, 20);
    await scheduler.stop();
    // Never two refreshes at once: each after the first is about an interval after the one before.
    for (const runs of [starts.health, starts.issues]) for (let i = 2; i < runs.length; i++) expect(runs[i]! - runs[i - 1]!).toBeGreaterThan(intervalMs / 2);
    const phase = phaseOf('tenant-phase', intervalMs);
    for (const started of [...starts.health.slice(1), ...starts.issues.slice(1)]) {
      // Timers fire late, or a millisecond early; 300 ms leaves room for a loaded machine.
      const late = ((started - phase) % intervalMs + intervalMs) % intervalMs;
      expect(Math.min(late, intervalMs - late)).toBeLessThan(300);
    }
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

describe('runner: bounded staleness', () => {
  const MAX_STALENESS = 60 * 60_000;
  const failure = () => new GraphError(503, 'serviceUnavailable', 'try later', 'healthOverviews');
  /** A collector that answers what `next` says: a value, or an error. */
  function setup() {
    let clock = Date.parse('2026-01-01T00:00:00Z');
    /** A value; an error (the refresh fails); or a value with a failed part (serviceActivity: one function failed). */
    let next: number | Error | { partly: number } = 1;
    const warnings: string[] = [];
    const collector: Collector<number> = {
      name: 'health',
      fetch: async (context) => {
        if (next instanceof Error) throw next;
        if (typeof next === 'number') return next;
        context.partialFailure(failure(), 'one part');
        return next.partly;
      },
      write: (snapshot, _view, out) => out.add(METRICS.serviceOperational, { service_id: 'Exchange' }, snapshot),
    };
    const context = {
      tenantName: 'contoso', live: new LiveMetrics(), maxStalenessMs: MAX_STALENESS, now: () => clock,
      connection: {}, view: () => ({ services: [], serviceIdOf: (n: string) => n }),
      logger: { warn: (_fields: unknown, message: string) => warnings.push(message), error: () => undefined },
    } as unknown as RunnerContext;
    const runner = new Runner(collector, {}, 60_000, context);
    const written = (write: (out: SampleWriter) => void) => {
      const rows: Array<[string, number]> = [];
      write({ add: (metric, _labels, value) => rows.push([metric.name, value]) });
      return rows;
    };
    return {
      runner, warnings,
      advance: (ms: number) => void (clock += ms),
      answer: (value: typeof next) => void (next = value),
      refresh: () => runner.refresh(new AbortController().signal),
      data: () => written((out) => runner.writeData(out, { services: [], serviceIdOf: (n) => n })),
      outcome: () => Object.fromEntries(written((out) => runner.writeOutcome(out))),
    };
  }

  it('keeps the last good data through failures shorter than maxStaleness, withholds it at the first failed refresh after, and says so once', async () => {
    const t = setup();
    await t.refresh();
    const succeededAt = Date.parse('2026-01-01T00:00:00Z') / 1_000;
    expect(t.data()).toEqual([['m365_service_operational', 1]]);
    t.answer(failure());
    t.advance(59 * 60_000);
    await t.refresh();
    expect(t.data()).toEqual([['m365_service_operational', 1]]);

    // Time alone changes nothing: the decision is a refresh's, which the version (and the exposition) follow.
    t.advance(60_001);
    expect(t.data()).toEqual([['m365_service_operational', 1]]);
    const before = t.runner.version;
    await t.refresh();
    expect(t.runner.version).toBeGreaterThan(before);
    expect(t.data()).toEqual([]);
    expect(t.outcome()).toMatchObject({ m365_exporter_collector_success: 0, m365_exporter_collector_last_success_timestamp_seconds: succeededAt });
    await t.refresh();
    expect(t.data()).toEqual([]);
    expect(t.warnings.filter((w) => w.includes('maxStaleness'))).toEqual(['no successful refresh for maxStaleness; its data series are no longer exported']);

    t.answer(2);
    await t.refresh();
    expect(t.data()).toEqual([['m365_service_operational', 2]]);
    // A later outage is announced again.
    t.answer(failure());
    t.advance(MAX_STALENESS + 1);
    await t.refresh();
    expect(t.data()).toEqual([]);
    expect(t.warnings.filter((w) => w.includes('maxStaleness'))).toHaveLength(2);
  });

  it('never drops the data while the last refresh succeeded, however long ago', async () => {
    const t = setup();
    await t.refresh();
    t.advance(3 * MAX_STALENESS); // a refresh in flight, or a clock jump
    expect(t.data()).toEqual([['m365_service_operational', 1]]);
  });

  it('counts from the start when no refresh ever fully succeeded', async () => {
    const t = setup();
    t.answer({ partly: 7 });
    await t.refresh();
    expect(t.outcome()).toMatchObject({ m365_exporter_collector_success: 0 });
    expect(t.data()).toEqual([['m365_service_operational', 7]]);
    t.advance(MAX_STALENESS + 1);
    await t.refresh();
    expect(t.data()).toEqual([]);
  });
});
