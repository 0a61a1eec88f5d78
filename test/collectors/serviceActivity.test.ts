import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbound, dispatcherFor } from '../../src/auth/outbound.js';
import { serviceActivityCollector, type ServiceActivitySettings, type ServiceActivitySnapshot } from '../../src/collectors/serviceActivity.js';
import type { FetchContext, Labels } from '../../src/collectors/types.js';
import { RequestBudget } from '../../src/graph/budget.js';
import { GraphClient } from '../../src/graph/client.js';
import { SERVICE_ACTIVITY_FUNCTIONS, selectServiceActivityFunctions, snakeCase } from '../../src/model/serviceActivityFunctions.js';
import type { MetricDefinition } from '../../src/model/metrics.js';

const MIN = 60_000;
/** Graph beta played by a real loopback server: per function, a bucket value computed from its start time. */
let server: Server;
let base = '';
const requests: Array<{ fn: string; start: string; end: string; interval: string }> = [];
let answer: (fn: string, start: number, end: number, interval: number) => { status: number; body: unknown } = () => ({ status: 500, body: {} });

beforeAll(async () => {
  server = createServer((req, res) => {
    const match = decodeURIComponent(req.url!).match(/^\/beta\/reports\/serviceActivity\/(\w+)\(inclusiveIntervalStartDateTime=([^,]+),exclusiveIntervalEndDateTime=([^,]+),aggregationIntervalInMinutes=(\d+)\)$/);
    if (!match) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'BadRequest', message: `bad url ${req.url}` } }));
      return;
    }
    const [, fn, start, end, interval] = match as unknown as [string, string, string, string, string];
    requests.push({ fn, start, end, interval });
    const { status, body } = answer(fn, Date.parse(start), Date.parse(end), Number(interval));
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const settings = { aggregationInterval: 5 as const, settleDelay: 20 * MIN, lookback: 60 * MIN, recheckDisabled: 60 * MIN, requestsPerMinute: 600 };

function harness(selection: string[]) {
  const counters = new Map<string, number>();
  const failures: string[] = [];
  const warnings: string[] = [];
  const graph = new GraphClient({
    graphEndpoint: base, getToken: async () => 't', observer: { onResponse() {}, onThrottled() {} },
    outbound: new Outbound({ dispatcher: dispatcherFor(), timeoutMs: 2_000, maxResponseBytes: 1_048_576 }), maxRetries: 0, maxBackoffMs: 1_000, maxPages: 5, pageSize: 100, concurrency: 4,
  });
  const budget = new RequestBudget([{ name: '1m', limit: 600, windowMs: MIN }]);
  const context = (now: number): FetchContext<ServiceActivitySettings> => ({
    graph, now: new Date(now), signal: new AbortController().signal,
    budgets: { serviceCommunications: budget, serviceActivity: budget },
    settings: { ...settings, selection },
    tenantName: 't',
    view: { services: [], serviceIdOf: (n) => n },
    logger: { warn: (_o: unknown, message: string) => warnings.push(message) } as never,
    count: (metric: MetricDefinition, labels: Labels, amount: number) => {
      const key = `${metric.name}/${labels.metric ?? `${labels.workload}/${labels.reason}`}`;
      counters.set(key, (counters.get(key) ?? 0) + amount);
    },
    forget: () => undefined,
    partialFailure: (error, detail) => failures.push(`${detail}: ${error.message}`),
  });
  const samples = (snapshot: ServiceActivitySnapshot) => {
    const rows: Array<{ metric: string; labels: Labels; value: number }> = [];
    serviceActivityCollector.write(snapshot, { services: [], serviceIdOf: (n) => n }, { add: (m, labels, value) => rows.push({ metric: m.name, labels, value }) }, new Date(), { ...settings, selection });
    return rows;
  };
  return { counters, failures, warnings, samples, fetch: (now: number, previous?: ServiceActivitySnapshot) => serviceActivityCollector.fetch(context(now), previous) };
}

/** Values that depend only on the bucket start, but look partial (half) until the bucket is 15 min old. */
function lateData(now: () => number) {
  return (_fn: string, start: number, end: number, interval: number) => {
    const value = [];
    for (let t = start; t < end && t + interval * MIN <= now(); t += interval * MIN) {
      const final = (t / MIN) % 1000;
      value.push({ intervalStartDateTime: new Date(t).toISOString(), value: now() - (t + interval * MIN) < 15 * MIN ? Math.floor(final / 2) : final });
    }
    return { status: 200, body: { value } };
  };
}

describe('Monitoring API function table', () => {
  it('has all 40 functions of the reference (Exchange 9, Teams 5, web apps 5, OneDrive 1, Entra 6, Global Secure Access 13, Agent ID 1) with a snake_case metric name', () => {
    expect(SERVICE_ACTIVITY_FUNCTIONS).toHaveLength(40);
    expect(new Set(SERVICE_ACTIVITY_FUNCTIONS.map((f) => f.metric)).size).toBe(40);
    expect(snakeCase('getActiveUserMetricsForiOSOrAndroidMailByReadEmail')).toBe('get_active_user_metrics_for_ios_or_android_mail_by_read_email');
    expect(snakeCase('getMetricsForNetworkAccessRemoteNetworkBranchesBGPConnected')).toBe('get_metrics_for_network_access_remote_network_branches_bgp_connected');
    expect(snakeCase('getAudioStreamQoEMetricsForTeams')).toBe('get_audio_stream_qoe_metrics_for_teams');
    expect(snakeCase('getDeviceMetricsForOneDriveForBusinessBydownloadOnlineOnlyFiles')).toBe('get_device_metrics_for_one_drive_for_business_by_download_online_only_files');
    expect(SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.kind === 'percentage').map((f) => f.name)).toEqual([
      'getConnectivityMetricsForExchange', 'getAudioStreamQoEMetricsForTeams', 'getAudioStreamsOverUdpMetricsForTeams',
    ]);
  });

  it('classifies every function by what its buckets mean: events, distinct users/apps/devices, levels, percentages', () => {
    const byKind = (kind: string) => SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.kind === kind).map((f) => f.name);
    expect(byKind('events')).toHaveLength(11);
    expect(byKind('distinct')).toHaveLength(21);
    expect(byKind('level')).toEqual(SERVICE_ACTIVITY_FUNCTIONS.filter((f) => /RemoteNetworkBranches/.test(f.name)).map((f) => f.name));
    expect(byKind('events')).toContain('getMetricsForMfaSignInSuccess');
    expect(SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.name.startsWith('getActiveUserMetrics')).every((f) => f.kind === 'distinct' && f.entity === 'users')).toBe(true);
    expect(SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.kind === 'distinct').every((f) => f.entity !== undefined)).toBe(true);
    expect(SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.kind !== 'distinct').every((f) => f.entity === undefined)).toBe(true);
  });

  it('selects by workload, name or all, leaves out what Graph\'s metadata lacks unless named, and reports unknown entries', () => {
    expect(selectServiceActivityFunctions(['teams']).functions).toHaveLength(5);
    expect(selectServiceActivityFunctions(['exchange', 'getMetricsForMfaSignInSuccess']).functions).toHaveLength(10);
    expect(selectServiceActivityFunctions(['ALL']).functions).toHaveLength(38);
    expect(selectServiceActivityFunctions(['onedrive']).functions).toHaveLength(0);
    expect(selectServiceActivityFunctions(['all', 'getMetricsForAgentIdAutonomousSignInFailure']).functions).toHaveLength(39);
    expect(selectServiceActivityFunctions(['get_device_metrics_for_one_drive_for_business_by_download_online_only_files']).functions).toHaveLength(1);
    expect(selectServiceActivityFunctions(['teams', 'sharepoint']).unknown).toEqual(['sharepoint']);
  });
});

describe('serviceActivity collector windows', () => {
  it('aligns windows, counts each settled bucket once with its final value, and never the running bucket', async () => {
    let now = Date.parse('2026-11-23T12:03:00Z');
    answer = lateData(() => now);
    const h = harness(['getMetricsForMfaSignInSuccess']);
    requests.length = 0;
    const first = await h.fetch(now);
    expect(requests[0]).toEqual({ fn: 'getMetricsForMfaSignInSuccess', start: '2026-11-23T11:00:00Z', end: '2026-11-23T12:00:00Z', interval: '5' });
    const key = 'm365_service_activity_events_total/get_metrics_for_mfa_sign_in_success';
    expect(h.counters.get(key)).toBe(0); // first read is the baseline
    const latest = first.functions.get('getMetricsForMfaSignInSuccess')!.latest!;
    expect(new Date(latest.start).toISOString()).toBe('2026-11-23T11:35:00.000Z'); // ends 11:40, 20 min settle before 12:03
    expect(latest.value).toBe((Date.parse('2026-11-23T11:35:00Z') / MIN) % 1000);

    now = Date.parse('2026-11-23T12:13:00Z');
    const second = await h.fetch(now, first);
    expect(requests[1]).toMatchObject({ start: '2026-11-23T11:40:00Z', end: '2026-11-23T12:10:00Z' });
    // Buckets 11:40 and 11:45 settled (ends ≤ 11:53); they were partial on the first read and count with final values.
    const expected = [Date.parse('2026-11-23T11:40:00Z'), Date.parse('2026-11-23T11:45:00Z')].map((t) => (t / MIN) % 1000).reduce((a, b) => a + b);
    expect(h.counters.get(key)).toBe(expected);

    now = Date.parse('2026-11-23T12:14:00Z'); // same boundary: nothing new is final, nothing counted twice
    const third = await h.fetch(now, second);
    expect(h.counters.get(key)).toBe(expected);
    expect(third.functions.get('getMetricsForMfaSignInSuccess')!.finalThrough).toBe(Date.parse('2026-11-23T11:50:00Z'));
    expect(h.samples(third).map((r) => [r.metric, r.value])).toEqual([
      ['m365_service_activity_enabled', 1],
      ['m365_service_activity_bucket_events', (Date.parse('2026-11-23T11:45:00Z') / MIN) % 1000],
      ['m365_service_activity_bucket_start_timestamp_seconds', Date.parse('2026-11-23T11:45:00Z') / 1_000],
    ]);
  });

  it('never asks for a start older than 30 days, even after a long gap', async () => {
    const now = Date.parse('2026-11-23T12:03:00Z');
    answer = () => ({ status: 200, body: { value: [] } });
    const h = harness(['getMetricsForMfaSignInSuccess']);
    const stale: ServiceActivitySnapshot = { functions: new Map([['getMetricsForMfaSignInSuccess', { enabled: true, finalThrough: now - 40 * 86_400_000 }]]) };
    requests.length = 0;
    await h.fetch(now, stale);
    expect(Date.parse(requests[0]!.start)).toBeGreaterThan(now - 30 * 86_400_000);
    expect(Date.parse(requests[0]!.start) % (5 * MIN)).toBe(0);
  });

  it('exports percentages as ratios', async () => {
    const now = Date.parse('2026-11-23T12:03:00Z');
    answer = (_fn, start, end) => ({ status: 200, body: { value: Array.from({ length: (end - start) / (5 * MIN) }, (_, i) => ({ intervalStartDateTime: new Date(start + i * 5 * MIN).toISOString(), percentage: 99.5 })) } });
    const h = harness(['getConnectivityMetricsForExchange']);
    const rows = h.samples(await h.fetch(now));
    expect(rows.find((r) => r.metric === 'm365_service_activity_ratio')?.value).toBe(0.995);
    expect(rows.map((r) => r.metric).filter((m) => !/_(enabled|bucket_start_timestamp_seconds)$/.test(m))).toEqual(['m365_service_activity_ratio']);
    expect([...h.counters.keys()].filter((k) => k.startsWith('m365_service_activity_events_total'))).toEqual([]);
  });

  it('disables a function on 403 with one log line, keeps the others, and tries again later', async () => {
    let now = Date.parse('2026-11-23T12:03:00Z');
    answer = (fn, start, end, interval) => fn === 'getMetricsForMfaSignInSuccess'
      ? { status: 403, body: { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges' } } }
      : lateData(() => now)(fn, start, end, interval);
    const h = harness(['getMetricsForMfaSignInSuccess', 'getMetricsForMfaSignInFailure']);
    const first = await h.fetch(now);
    expect(h.failures).toEqual([]);
    expect(h.warnings).toEqual(['Monitoring API function disabled for this tenant: permission not granted (Graph 403 Authorization_RequestDenied); grant the application permission Reports.Read.All; retrying every 60 min']);
    expect(h.samples(first).filter((r) => r.metric === 'm365_service_activity_enabled').map((r) => [r.labels.metric, r.value])).toEqual([
      ['get_metrics_for_mfa_sign_in_success', 0], ['get_metrics_for_mfa_sign_in_failure', 1],
    ]);
    requests.length = 0;
    now += 10 * MIN;
    const second = await h.fetch(now, first);
    expect(requests.map((r) => r.fn)).toEqual(['getMetricsForMfaSignInFailure']);
    expect(h.warnings).toHaveLength(1);
    now += 61 * MIN;
    answer = lateData(() => now);
    const third = await h.fetch(now, second);
    expect(third.functions.get('getMetricsForMfaSignInSuccess')?.enabled).toBe(true);
  });

  it('never makes a counter of distinct users or of a level: only their latest bucket, as a gauge', async () => {
    let now = Date.parse('2026-11-23T12:03:00Z');
    answer = lateData(() => now);
    const h = harness(['getActiveUserMetricsForExcelWeb', 'getMetricsForNetworkAccessRemoteNetworkBranchesAlive', 'getMessageVolumeMetricsForTeamsChat']);
    const first = await h.fetch(now);
    now += 30 * MIN;
    const second = await h.fetch(now, first);
    const counted = [...h.counters.entries()].filter(([k]) => k.startsWith('m365_service_activity_events_total/'));
    expect(counted.map(([k]) => k)).toEqual(['m365_service_activity_events_total/get_message_volume_metrics_for_teams_chat']);
    expect(counted[0]![1]).toBeGreaterThan(0);
    const rows = h.samples(second).filter((r) => !/_(enabled|bucket_start_timestamp_seconds)$/.test(r.metric));
    const byFunction = (a: { labels: Labels }, b: { labels: Labels }) => a.labels.metric!.localeCompare(b.labels.metric!);
    expect(rows.sort(byFunction).map((r) => [r.metric, r.labels.metric, r.labels.entity])).toEqual([
      ['m365_service_activity_distinct', 'get_active_user_metrics_for_excel_web', 'users'],
      ['m365_service_activity_bucket_events', 'get_message_volume_metrics_for_teams_chat', undefined],
      ['m365_service_activity_level', 'get_metrics_for_network_access_remote_network_branches_alive', undefined],
    ]);
  });

  it('refuses replayed buckets of another window, off the interval grid or twice, counts them and keeps the latest true bucket', async () => {
    const now = Date.parse('2026-11-23T12:03:00Z');
    answer = (_fn, start) => ({
      status: 200,
      body: {
        value: [
          { intervalStartDateTime: '2024-11-23T11:30:00Z', value: 999_999 }, // a replay of another year
          { intervalStartDateTime: '2026-11-23T13:00:00Z', value: 888_888 }, // after the window
          { intervalStartDateTime: new Date(start + 2 * MIN).toISOString(), value: 777_777 }, // not on the 5-minute grid
          { intervalStartDateTime: new Date(start).toISOString(), value: 10 },
          { intervalStartDateTime: new Date(start).toISOString(), value: 666_666 }, // the same bucket again
          { intervalStartDateTime: new Date(start + 5 * MIN).toISOString(), value: 11 },
        ],
      },
    });
    const h = harness(['getMetricsForMfaSignInSuccess']);
    const snapshot = await h.fetch(now);
    expect(snapshot.functions.get('getMetricsForMfaSignInSuccess')!.latest).toEqual({ start: Date.parse('2026-11-23T11:05:00Z'), value: 11 });
    expect(h.counters.get('m365_service_activity_buckets_refused_total/entra/outside_window')).toBe(2);
    expect(h.counters.get('m365_service_activity_buckets_refused_total/entra/misaligned')).toBe(1);
    expect(h.counters.get('m365_service_activity_buckets_refused_total/entra/duplicate')).toBe(1);
    expect(h.warnings).toEqual(['Monitoring API answered buckets that were not asked for; refused them']);
    expect(h.failures).toEqual([]);
  });

  it('says that this Graph does not know a function it answers 400 "segment" for', async () => {
    const now = Date.parse('2026-11-23T12:03:00Z');
    answer = (fn) => ({ status: 400, body: { error: { code: 'BadRequest', message: `Resource not found for the segment '${fn}'.` } } });
    const h = harness(['getMetricsForAgentIdAutonomousSignInFailure']);
    await h.fetch(now);
    expect(h.warnings[0]).toMatch(/^Monitoring API function disabled for this tenant: this Graph does not know the function \(Graph 400 BadRequest: resource not found for the segment\); it is documented on Microsoft Learn but absent from Graph's beta metadata; retrying every 60 min$/);
  });

  it('disables on 404 and on a cloud without the API (400 unknown segment)', async () => {
    const now = Date.parse('2026-11-23T12:03:00Z');
    answer = (fn) => fn === 'getMetricsForSamlSignInSuccess'
      ? { status: 404, body: { error: { code: 'UnknownError', message: '' } } }
      : { status: 400, body: { error: { code: 'BadRequest', message: "Resource not found for the segment 'serviceActivity'." } } };
    const h = harness(['getMetricsForSamlSignInSuccess', 'getMetricsForMfaSignInFailure']);
    const snapshot = await h.fetch(now);
    expect([...snapshot.functions.values()].map((s) => s.enabled)).toEqual([false, false]);
    expect(h.failures).toEqual([]);
  });

  it('reports a 500 of one function as a partial failure and keeps its previous state', async () => {
    let now = Date.parse('2026-11-23T12:03:00Z');
    answer = lateData(() => now);
    const h = harness(['getMetricsForMfaSignInSuccess', 'getMetricsForMfaSignInFailure']);
    const first = await h.fetch(now);
    now += 10 * MIN;
    answer = (fn, start, end, interval) => fn === 'getMetricsForMfaSignInFailure'
      ? { status: 500, body: { error: { code: 'generalException', message: 'boom' } } }
      : lateData(() => now)(fn, start, end, interval);
    const second = await h.fetch(now, first);
    expect(h.failures).toEqual(['getMetricsForMfaSignInFailure: Graph serviceActivity answered 500 generalException: boom']);
    expect(second.functions.get('getMetricsForMfaSignInFailure')).toEqual(first.functions.get('getMetricsForMfaSignInFailure'));
    expect(second.functions.get('getMetricsForMfaSignInSuccess')!.finalThrough).toBeGreaterThan(first.functions.get('getMetricsForMfaSignInSuccess')!.finalThrough!);
  });
});
