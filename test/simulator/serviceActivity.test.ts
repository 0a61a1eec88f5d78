import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runScenario, SERVICE_ACTIVITY_FUNCTIONS, startSimulator, type ServiceActivityAnomalyKind, type Simulator } from '../../simulator/index.js';
import { call, graph, TENANT, token, type HttpResponse } from './helpers.js';

/** A Wednesday afternoon (UTC), half a minute into a minute, so "now" is never on a bucket boundary by accident. */
const WEDNESDAY = Date.parse('2025-06-11T14:07:30Z');
const OTHER = { tenantId: '99999999-2222-4333-8444-555555555555', clientId: 'other-app', clientSecret: 'other-secret' };
const MIN = 60_000;

const at = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

function path(name: string, start: string, end: string, interval?: number | string, query = ''): string {
  const arg = interval === undefined ? '' : `,aggregationIntervalInMinutes=${interval}`;
  return `/beta/reports/serviceActivity/${name}(inclusiveIntervalStartDateTime=${start},exclusiveIntervalEndDateTime=${end}${arg})${query}`;
}

function get(sim: Simulator, tok: string, p: string): Promise<HttpResponse> {
  return call(sim, 'GET', p, { headers: { Authorization: `Bearer ${tok}` } });
}

interface Bucket {
  intervalStartDateTime: string;
  value?: number;
  percentage?: number;
}

interface ClockedSim {
  now: number;
  sim: Simulator;
  tok: string;
  start(): Promise<void>;
  read(name: string, startMs: number, endMs: number, interval?: number, tok?: string): Promise<Bucket[]>;
}

/** A simulator on a scripted clock; `read` returns the buckets (and fails on anything but 200). */
function clockedSim(extra: { serviceActivitySettleSeconds?: number; enforceThrottling?: boolean } = {}): ClockedSim {
  const env: ClockedSim = {
    now: WEDNESDAY,
    sim: undefined as unknown as Simulator,
    tok: '',
    async start() {
      // A fixed tenant size keeps the count assertions independent of the default (size from the tenant id).
      env.sim = await startSimulator({ tenants: [{ ...TENANT, users: 2000 }, OTHER], now: () => new Date(env.now), tokenLifetimeSeconds: 90 * 86_400, ...extra });
      env.tok = await token(env.sim);
    },
    async read(name, startMs, endMs, interval, tok = env.tok) {
      const res = await get(env.sim, tok, path(name, at(startMs), at(endMs), interval));
      expect(res.status, res.text).toBe(200);
      return res.json().value;
    },
  };
  return env;
}

describe('serviceActivity: functions and shapes', () => {
  const env = clockedSim();
  beforeAll(() => env.start());
  afterAll(() => env.sim.stop());

  it('catalogues every function of the reference, with exact names', () => {
    const byWorkload: Record<string, number> = {};
    for (const f of SERVICE_ACTIVITY_FUNCTIONS) byWorkload[f.workload] = (byWorkload[f.workload] ?? 0) + 1;
    expect(byWorkload).toEqual({
      exchange: 9, teams: 5, m365_apps: 5, onedrive: 1, entra: 6, global_secure_access: 13, agent_id: 1,
    });
    const names = SERVICE_ACTIVITY_FUNCTIONS.map((f) => f.name);
    expect(new Set(names).size).toBe(40);
    expect(names).toEqual(expect.arrayContaining([
      'getActiveUserMetricsForiOSOrAndroidMailByReadEmail',
      'getDeviceMetricsForOneDriveForBusinessBydownloadOnlineOnlyFiles',
      'getMetricsForNetworkAccessRemoteNetworkBranchesBGPDisconnected',
      'getMetricsForAgentIdAutonomousSignInFailure',
    ]));
    expect(SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.type === 'percentage').map((f) => f.name).sort()).toEqual(
      ['getAudioStreamQoEMetricsForTeams', 'getAudioStreamsOverUdpMetricsForTeams', 'getConnectivityMetricsForExchange'],
    );
  });

  it.each(SERVICE_ACTIVITY_FUNCTIONS.map((f) => [f.name, f] as const))('%s answers its metric type, one bucket per interval', async (_, fn) => {
    const start = Date.parse('2025-06-11T11:00:00Z');
    const res = await get(env.sim, env.tok, path(fn.name, at(start), at(start + 2 * 3_600_000), 10));
    expect(res.status, res.text).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json();
    const type = fn.type === 'percentage' ? 'serviceActivityPerformanceMetric' : 'serviceActivityValueMetric';
    expect(body['@odata.context']).toBe(`${env.sim.url}/beta/$metadata#Collection(microsoft.graph.${type})`);
    expect(body.value.map((b: Bucket) => b.intervalStartDateTime)).toEqual(Array.from({ length: 12 }, (_, i) => at(start + i * 10 * MIN)));
    for (const bucket of body.value as Bucket[]) {
      if (fn.type === 'percentage') {
        expect(Object.keys(bucket)).toEqual(['intervalStartDateTime', 'percentage']);
        expect(bucket.percentage).toBeGreaterThan(98);
        expect(bucket.percentage).toBeLessThanOrEqual(100);
      } else {
        expect(Object.keys(bucket)).toEqual(['intervalStartDateTime', 'value']);
        expect(Number.isInteger(bucket.value)).toBe(true);
        expect(bucket.value).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('busy Exchange and Teams counts are non-trivial on a weekday', async () => {
    const start = Date.parse('2025-06-11T10:00:00Z');
    for (const name of ['getActiveUserMetricsForDesktopMailByReadEmail', 'getMessageVolumeMetricsForTeamsChat', 'getMetricsForMfaSignInSuccess']) {
      const values = (await env.read(name, start, start + 3_600_000, 10)).map((b) => b.value!);
      expect(Math.min(...values)).toBeGreaterThan(10);
    }
  });

  it('accepts the interval inline, as a parameter alias, or omitted (15)', async () => {
    const fn = 'getMetricsForMfaSignInSuccess';
    const [s, e] = ['2025-06-11T10:00:00Z', '2025-06-11T12:00:00Z'];
    const count = async (p: string): Promise<number> => {
      const res = await get(env.sim, env.tok, p);
      expect(res.status, res.text).toBe(200);
      return res.json().value.length;
    };
    expect(await count(path(fn, s, e, 5))).toBe(24);
    expect(await count(path(fn, s, e, '@aggregationIntervalInMinutes', '?@aggregationIntervalInMinutes=30'))).toBe(4);
    expect(await count(path(fn, s, e, '@a', '?@a=10&$top=5'))).toBe(12);
    expect(await count(path(fn, s, e))).toBe(8);
    // The Kiota SDK form with the alias but no value: null, so the default applies.
    expect(await count(path(fn, s, e, '@aggregationIntervalInMinutes'))).toBe(8);
    // Aliases for the datetimes too, with an offset ('+' in a query string) converted to UTC.
    const aliased = `/beta/reports/serviceActivity/${fn}(inclusiveIntervalStartDateTime=@s,exclusiveIntervalEndDateTime=@e)?@s=2025-06-11T12:00:00%2B02:00&@e=2025-06-11T12:30:00+02:00`;
    const res = await get(env.sim, env.tok, aliased);
    expect(res.status, res.text).toBe(200);
    expect(res.json().value.map((b: Bucket) => b.intervalStartDateTime)).toEqual(['2025-06-11T10:00:00Z', '2025-06-11T10:15:00Z']);
    // Namespace-qualified function name.
    expect(await count(`/beta/reports/serviceActivity/microsoft.graph.${fn}(inclusiveIntervalStartDateTime=${s},exclusiveIntervalEndDateTime=${e})`)).toBe(8);
  });

  it('leaves out the still-running bucket and future buckets; only complete buckets inside the window', async () => {
    // now = 14:07:30: the 14:00 bucket of 10 minutes is still running.
    const buckets = await env.read('getMetricsForMfaSignInSuccess', Date.parse('2025-06-11T13:00:00Z'), WEDNESDAY + 3_600_000, 10);
    expect(buckets.map((b) => b.intervalStartDateTime.slice(11, 16))).toEqual(['13:00', '13:10', '13:20', '13:30', '13:40', '13:50']);
    expect(await env.read('getMetricsForMfaSignInSuccess', WEDNESDAY + MIN, WEDNESDAY + 3_600_000, 5)).toEqual([]);
    // A window that does not end on a bucket boundary: the partial last bucket is not answered.
    const partial = await env.read('getMetricsForMfaSignInSuccess', Date.parse('2025-06-11T12:00:00Z'), Date.parse('2025-06-11T12:25:00Z'), 10);
    expect(partial.map((b) => b.intervalStartDateTime)).toEqual(['2025-06-11T12:00:00Z', '2025-06-11T12:10:00Z']);
  });

  it('accepts an unaligned start: buckets begin exactly at the start', async () => {
    const buckets = await env.read('getActiveUserMetricsForWordWeb', Date.parse('2025-06-11T12:03:00Z'), Date.parse('2025-06-11T12:33:00Z'), 10);
    expect(buckets.map((b) => b.intervalStartDateTime)).toEqual(['2025-06-11T12:03:00Z', '2025-06-11T12:13:00Z', '2025-06-11T12:23:00Z']);
  });

  it('aggregates per minute: final buckets of different intervals add up', async () => {
    const fn = 'getMessageVolumeMetricsForEmailDelivery';
    const start = Date.parse('2025-06-11T09:00:00Z');
    const by5 = await env.read(fn, start, start + 3_600_000, 5);
    const by30 = await env.read(fn, start, start + 3_600_000, 30);
    const sum = (bs: Bucket[]): number => bs.reduce((a, b) => a + b.value!, 0);
    expect(Math.abs(sum(by5) - sum(by30))).toBeLessThanOrEqual(12); // rounding per bucket only
    expect(by30).toHaveLength(2);
  });

  it('follows a diurnal and weekly pattern, and differs per tenant', async () => {
    const fn = 'getActiveUserMetricsForEmailByModernAuthentication';
    const hourSum = async (iso: string, tok = env.tok): Promise<number> => {
      const s = Date.parse(iso);
      return (await env.read(fn, s, s + 3_600_000, 30, tok)).reduce((a, b) => a + b.value!, 0);
    };
    const weekdayDay = await hourSum('2025-06-10T10:00:00Z'); // Tuesday
    const weekdayNight = await hourSum('2025-06-10T02:00:00Z');
    const sundayDay = await hourSum('2025-06-08T10:00:00Z');
    expect(weekdayDay).toBeGreaterThan(5 * weekdayNight);
    expect(weekdayDay).toBeGreaterThan(2.5 * sundayDay);
    expect(sundayDay).toBeGreaterThan(weekdayNight);
    const other = await hourSum('2025-06-10T10:00:00Z', await token(env.sim, OTHER));
    expect(other).not.toBe(weekdayDay);
  });

  it('keeps branch counts as levels, not sums over minutes', async () => {
    const start = Date.parse('2025-06-11T10:00:00Z');
    const alive = (await env.read('getMetricsForNetworkAccessRemoteNetworkBranchesAlive', start, start + 3_600_000, 30)).map((b) => b.value!);
    const tunnels = (await env.read('getMetricsForNetworkAccessRemoteNetworkBranchesTunnelConnected', start, start + 3_600_000, 30)).map((b) => b.value!);
    expect(Math.max(...alive)).toBeLessThanOrEqual(20);
    expect(Math.min(...alive)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...tunnels)).toBeLessThanOrEqual(2 * Math.max(...alive));
  });
});

describe('serviceActivity: parameter validation (400 BadRequest)', () => {
  const env = clockedSim();
  beforeAll(() => env.start());
  afterAll(() => env.sim.stop());
  const fn = 'getConnectivityMetricsForExchange';
  const S = '2025-06-11T10:00:00Z';
  const E = '2025-06-11T11:00:00Z';

  const cases: Array<[string, string, RegExp]> = [
    ['interval 7', path(fn, S, E, 7), /aggregationIntervalInMinutes.*5, 10, 15 and 30/],
    ['interval 0', path(fn, S, E, 0), /allowed values are 5, 10, 15 and 30/],
    ['interval 60', path(fn, S, E, 60), /allowed values/],
    ['interval not a number', path(fn, S, E, 'ten'), /Invalid value 'ten'.*Edm\.Int32/],
    ['interval alias not a number', path(fn, S, E, '@a', '?@a=1.5'), /Invalid value '1\.5'/],
    ['end equal to start', path(fn, S, S), /must be later than/],
    ['end before start', path(fn, E, S), /must be later than/],
    ['start older than 30 days', path(fn, at(WEDNESDAY - 30 * 86_400_000 - MIN), at(WEDNESDAY - 29 * 86_400_000)), /more than 30 days in the past/],
    ['month 13', path(fn, '2025-13-01T00:00:00Z', E), /Invalid value '2025-13-01T00:00:00Z' for parameter 'inclusiveIntervalStartDateTime'/],
    ['30 February', path(fn, S, '2025-02-30T00:00:00Z'), /exclusiveIntervalEndDateTime/],
    ['no time zone', path(fn, '2025-06-11T10:00:00', E), /unquoted Edm\.DateTimeOffset/],
    ['quoted literal', path(fn, `'${S}'`, E), /unquoted Edm\.DateTimeOffset/],
    ['not a date', path(fn, 'yesterday', E), /Invalid value 'yesterday'/],
    ['missing start', `/beta/reports/serviceActivity/${fn}(exclusiveIntervalEndDateTime=${E})`, /required parameter 'inclusiveIntervalStartDateTime'.*missing/],
    ['missing end', `/beta/reports/serviceActivity/${fn}(inclusiveIntervalStartDateTime=${S},aggregationIntervalInMinutes=5)`, /required parameter 'exclusiveIntervalEndDateTime'/],
    ['no parameters', `/beta/reports/serviceActivity/${fn}()`, /required parameter 'inclusiveIntervalStartDateTime'/],
    ['no parentheses', `/beta/reports/serviceActivity/${fn}`, /required parameter/],
    ['alias without value for a datetime', `/beta/reports/serviceActivity/${fn}(inclusiveIntervalStartDateTime=@s,exclusiveIntervalEndDateTime=${E})`, /inclusiveIntervalStartDateTime.*missing or null/],
    ['unknown parameter', path(fn, S, E, undefined).replace(')', ',granularity=5)'), /parameter 'granularity' is not defined/],
    ['duplicate parameter', path(fn, S, E, 5).replace(')', ',aggregationIntervalInMinutes=10)'), /more than once/],
    ['not name=value', path(fn, S, E).replace(')', ',15)'), /not 'name=value'/],
  ];

  it.each(cases)('%s', async (_, p, message) => {
    const res = await get(env.sim, env.tok, p);
    expect(res.status, res.text).toBe(400);
    const { error } = res.json();
    expect(error.code).toBe('BadRequest');
    expect(error.message).toMatch(message);
    expect(error.innerError['request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('accepts a start of exactly 30 days ago, and windows reaching into the future', async () => {
    const start = WEDNESDAY - 30 * 86_400_000;
    const res = await get(env.sim, env.tok, path(fn, at(start), at(start + 3_600_000), 30));
    expect(res.status, res.text).toBe(200);
    expect(res.json().value).toHaveLength(2);
    expect((await get(env.sim, env.tok, path(fn, at(WEDNESDAY - 3_600_000), '2030-01-01T00:00:00Z', 30))).status).toBe(200);
  });

  it('answers 400 "Resource not found for the segment" for unknown or misspelt functions, as Graph does; 401 without a token', async () => {
    for (const name of ['getMetricsForNothing', 'getActiveUserMetricsForIOSOrAndroidMailByReadEmail', 'getdevicemetricsforonedriveforbusinessbydownloadonlineonlyfiles']) {
      const res = await get(env.sim, env.tok, path(name, S, E, 5));
      expect(res.status).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'BadRequest', message: `Resource not found for the segment '${name}'.` });
    }
    const res = await call(env.sim, 'GET', path(fn, S, E, 5));
    expect(res.status).toBe(401);
    expect(res.json().error.code).toBe('InvalidAuthenticationToken');
    // Beta only.
    expect((await get(env.sim, env.tok, path(fn, S, E, 5).replace('/beta/', '/v1.0/'))).status).toBe(400);
  });
});

describe('serviceActivity: late data', () => {
  const env = clockedSim();
  beforeAll(() => env.start());
  afterAll(() => env.sim.stop());

  it('a recent count bucket is partial, grows on later reads, and is fixed once settled (20 min by default)', async () => {
    const fn = 'getActiveUserMetricsForDesktopMailByReadEmail';
    const bucket = Date.parse('2025-06-11T14:00:00Z');
    const readBucket = async (): Promise<number> => {
      const [b] = await env.read(fn, bucket, bucket + 10 * MIN, 10);
      expect(b!.intervalStartDateTime).toBe('2025-06-11T14:00:00Z');
      return b!.value!;
    };
    const seen: number[] = [];
    for (const offset of [0, 1, 5, 10, 15, 20, 30, 60, 600]) {
      env.now = bucket + 10 * MIN + offset * MIN;
      seen.push(await readBucket());
    }
    const final = seen.at(-1)!;
    // Growing while younger than 20 minutes after its end…
    for (let i = 1; i <= 5; i++) expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    // Just after its end roughly half of the bucket's data is in.
    expect(seen[0]!).toBeLessThan(0.7 * final);
    // …then the same number on every later read.
    expect(seen.slice(5)).toEqual([final, final, final, final]);

    // A client treating the young bucket as final would under-count; the settled value is the same number a
    // simulator with no delay computes (deterministic per tenant, function and bucket start).
    const immediate = clockedSim({ serviceActivitySettleSeconds: 0 });
    immediate.now = bucket + 10 * MIN;
    await immediate.start();
    try {
      const [b] = await immediate.read(fn, bucket, bucket + 10 * MIN, 10);
      expect(b!.value).toBe(final);
    } finally {
      await immediate.sim.stop();
    }
  });

  it('percentages of recent buckets may still move, then stay', async () => {
    const fn = 'getConnectivityMetricsForExchange';
    const bucket = Date.parse('2025-06-11T16:00:00Z');
    env.now = bucket + 5 * MIN;
    const early = (await env.read(fn, bucket, bucket + 5 * MIN, 5))[0]!.percentage!;
    env.now = bucket + 25 * MIN;
    const settled = (await env.read(fn, bucket, bucket + 5 * MIN, 5))[0]!.percentage!;
    env.now = bucket + 5 * 3_600_000;
    expect((await env.read(fn, bucket, bucket + 5 * MIN, 5))[0]!.percentage).toBe(settled);
    expect(early).toBeGreaterThan(98);
    expect(settled).toBeGreaterThan(98);
  });
});

describe('serviceActivity: tenant state', () => {
  const env = clockedSim();
  beforeAll(() => env.start());
  afterAll(() => env.sim.stop());
  beforeEach(() => {
    env.now = WEDNESDAY;
  });
  afterEach(() => {
    const t = env.sim.tenant(TENANT.tenantId);
    t.allowServiceActivity();
    t.setServiceActivityAvailability(true);
    t.setServiceActivityAnomaly(null);
    t.clearFaults();
  });
  const tenant = () => env.sim.tenant(TENANT.tenantId);
  const S = '2025-06-11T10:00:00Z';
  const E = '2025-06-11T11:00:00Z';
  const status = async (name: string, tok = env.tok): Promise<number> => (await get(env.sim, tok, path(name, S, E, 30))).status;

  it('denyServiceActivity: 403 Authorization_RequestDenied for a workload, a function or a permission', async () => {
    tenant().denyServiceActivity('teams');
    const res = await get(env.sim, env.tok, path('getAudioStreamQoEMetricsForTeams', S, E, 30));
    expect(res.status).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' });
    expect(await status('getMessageVolumeMetricsForTeamsChat')).toBe(403);
    expect(await status('getConnectivityMetricsForExchange')).toBe(200);
    // Other tenants are not affected.
    expect(await status('getMessageVolumeMetricsForTeamsChat', await token(env.sim, OTHER))).toBe(200);

    tenant().allowServiceActivity('teams');
    expect(await status('getMessageVolumeMetricsForTeamsChat')).toBe(200);

    tenant().denyServiceActivity('getMetricsForMfaSignInSuccess');
    expect(await status('getMetricsForMfaSignInSuccess')).toBe(403);
    expect(await status('getMetricsForMfaSignInFailure')).toBe(200);

    tenant().denyServiceActivity('Reports.Read.All');
    for (const name of ['getMetricsForSamlSignInSuccess', 'getMetricsForNetworkAccessRemoteNetworkBranchesAlive', 'getMetricsForAgentIdAutonomousSignInFailure']) {
      expect(await status(name)).toBe(403);
    }
    expect(await status('getActiveUserMetricsForWordWeb')).toBe(200);
    // A denied function still answers 403 to bad parameters: permission is checked first.
    expect((await get(env.sim, env.tok, path('getMetricsForMfaSignInSuccess', S, E, 7))).status).toBe(403);
    expect(() => tenant().denyServiceActivity('sharepoint')).toThrow(/names no serviceActivity/);
  });

  it('setServiceActivityAvailability(false): every function 400 as in a cloud without the API; other Graph APIs keep working', async () => {
    tenant().setServiceActivityAvailability(false);
    for (const { name } of SERVICE_ACTIVITY_FUNCTIONS) {
      const res = await get(env.sim, env.tok, path(name, S, E, 30));
      expect(res.status).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'BadRequest', message: "Resource not found for the segment 'serviceActivity'." });
    }
    expect((await get(env.sim, env.tok, path('getMetricsForNothing', S, E, 30))).json().error.message).toMatch(/'serviceActivity'/);
    expect((await graph(env.sim, env.tok, 'issues')).status).toBe(200);
    expect(await status('getConnectivityMetricsForExchange', await token(env.sim, OTHER))).toBe(200);
    tenant().setServiceActivityAvailability(true);
    expect(await status('getConnectivityMetricsForExchange')).toBe(200);
  });

  it('anomalies change the affected values from the switch on, and history stays', async () => {
    const hour = 3_600_000;
    const mean = (bs: Bucket[], key: 'value' | 'percentage'): number => bs.reduce((a, b) => a + b[key]!, 0) / bs.length;
    const window = async (name: string, from: number): Promise<Bucket[]> => env.read(name, from, from + hour, 10);

    const t0 = Date.parse('2025-06-11T10:00:00Z');
    env.now = t0;
    expect(tenant().serviceActivityAnomaly).toBeNull();
    const cases: Array<[ServiceActivityAnomalyKind, string[], (normal: Bucket[], anomalous: Bucket[]) => void]> = [
      ['mfaSuccessDrop', ['getMetricsForMfaSignInSuccess'], (n, a) => {
        const ratio = mean(a, 'value') / mean(n, 'value');
        expect(ratio).toBeGreaterThan(0.15);
        expect(ratio).toBeLessThan(0.25);
      }],
      ['exchangeConnectivityDrop', ['getConnectivityMetricsForExchange'], (n, a) => {
        expect(mean(n, 'percentage')).toBeGreaterThan(99);
        expect(mean(a, 'percentage')).toBeGreaterThan(67);
        expect(mean(a, 'percentage')).toBeLessThan(73);
      }],
      ['teamsAudioQualityDrop', ['getAudioStreamQoEMetricsForTeams', 'getAudioStreamsOverUdpMetricsForTeams'], (n, a) => {
        expect(mean(n, 'percentage')).toBeGreaterThan(98);
        expect(mean(a, 'percentage')).toBeGreaterThan(57);
        expect(mean(a, 'percentage')).toBeLessThan(63);
      }],
    ];
    // A twin tenant without anomalies on another simulator gives the baseline for the same buckets.
    const twin = clockedSim({ serviceActivitySettleSeconds: 0 });
    await twin.start();
    try {
      let from = t0;
      for (const [kind, names, check] of cases) {
        env.now = from;
        tenant().setServiceActivityAnomaly(kind);
        expect(tenant().serviceActivityAnomaly).toBe(kind);
        env.now = from + 2 * hour; // one hour of anomaly, settled
        twin.now = env.now;
        for (const name of names) check(await twin.read(name, from, from + hour, 10), await window(name, from));
        // Unaffected functions keep their values.
        expect(await window('getMetricsForMfaSignInFailure', from)).toEqual(await twin.read('getMetricsForMfaSignInFailure', from, from + hour, 10));
        env.now = from + hour;
        tenant().setServiceActivityAnomaly(null);
        env.now = from + 3 * hour;
        twin.now = env.now;
        // After the switch-off the values are normal again; the anomaly hour stays in history.
        for (const name of names) {
          expect(await window(name, from + hour)).toEqual(await twin.read(name, from + hour, from + 2 * hour, 10));
          check(await twin.read(name, from, from + hour, 10), await window(name, from));
        }
        from += 3 * hour;
      }
    } finally {
      await twin.sim.stop();
    }
    expect(() => tenant().setServiceActivityAnomaly('nope' as ServiceActivityAnomalyKind)).toThrow(/unknown serviceActivity anomaly/);
  });

  it('a backdated anomaly (since) changes buckets that had already settled, and cannot reach into an earlier one', async () => {
    // OTHER: the tests above leave anomaly periods of TENANT later in the day than these buckets.
    const other = env.sim.tenant(OTHER.tenantId);
    const otherTok = await token(env.sim, OTHER);
    const from = Date.parse('2025-06-11T12:00:00Z'); // settled: two hours before the clock, the default settle is 20 minutes
    const read = () => env.read('getMetricsForMfaSignInSuccess', from, from + 3_600_000, 10, otherTok);
    const before = await read();
    other.setServiceActivityAnomaly('mfaSuccessDrop', { since: new Date(from + 1_800_000) });
    const after = await read();
    expect(after.slice(0, 3)).toEqual(before.slice(0, 3));
    for (let i = 3; i < 6; i++) {
      expect(after[i]!.value! / before[i]!.value!).toBeGreaterThan(0.15);
      expect(after[i]!.value! / before[i]!.value!).toBeLessThan(0.25);
    }
    expect(() => other.setServiceActivityAnomaly('teamsAudioQualityDrop', { since: new Date(from) })).toThrow(/earlier than the previous one/);
    expect(other.serviceActivityAnomaly).toBe('mfaSuccessDrop');
    other.setServiceActivityAnomaly(null);
  });

  it('faults can target serviceActivity alone', async () => {
    const fn = 'getMetricsForMfaSignInSuccess';
    tenant().setFault({ kind: 'throttle', count: 1, retryAfterSeconds: 3, endpoint: 'serviceActivity' });
    expect((await graph(env.sim, env.tok, 'issues')).status).toBe(200);
    const throttled = await get(env.sim, env.tok, path(fn, S, E, 30));
    expect([throttled.status, throttled.headers['retry-after']]).toEqual([429, '3']);
    expect(await status(fn)).toBe(200);

    tenant().setFault({ kind: 'serverError', count: 1, status: 503, endpoint: 'serviceActivity' });
    expect(await status(fn)).toBe(503);
    tenant().setFault({ kind: 'malformedJson', count: 1, endpoint: 'serviceActivity' });
    const broken = await get(env.sim, env.tok, path(fn, S, E, 30));
    expect(broken.status).toBe(200);
    expect(() => broken.json()).toThrow();
    tenant().setFault({ kind: 'forbidden', endpoint: 'serviceActivity' });
    expect(await status(fn)).toBe(403);
    expect((await graph(env.sim, env.tok, 'messages')).status).toBe(200);
    tenant().clearFaults();
    tenant().setFault({ kind: 'slow', delayMs: 200, count: 1, endpoint: 'serviceActivity' });
    const started = Date.now();
    expect(await status(fn)).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  });
});

describe('serviceActivity: throttling (100 requests / 10 min per app, tenant and function)', () => {
  const env = clockedSim();
  beforeAll(() => env.start());
  afterAll(() => env.sim.stop());
  const S = '2025-06-11T10:00:00Z';
  const E = '2025-06-11T11:00:00Z';

  it('answers the 101st request to one function with 429; other functions, tenants and service communications are separate', async () => {
    const fn = 'getMetricsForMfaSignInSuccess';
    for (let i = 0; i < 100; i++) expect((await get(env.sim, env.tok, path(fn, S, E, 30))).status).toBe(200);
    env.now += 60_000;
    const res = await get(env.sim, env.tok, path(fn, S, E, 30));
    expect(res.status).toBe(429);
    expect(res.json().error).toMatchObject({ code: 'TooManyRequests', innerError: { status: '429' } });
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(500);
    expect(retryAfter).toBeLessThanOrEqual(540);

    expect((await get(env.sim, env.tok, path('getMetricsForMfaSignInFailure', S, E, 30))).status).toBe(200);
    expect((await get(env.sim, await token(env.sim, OTHER), path(fn, S, E, 30))).status).toBe(200);
    expect((await graph(env.sim, env.tok, 'healthOverviews')).status).toBe(200);

    env.now += retryAfter * 1000;
    expect((await get(env.sim, env.tok, path(fn, S, E, 30))).status).toBe(200);
  });
});

describe('serviceActivity: scenario', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startSimulator({ tenants: [TENANT] });
  });
  afterAll(() => sim.stop());

  it('service-activity-anomaly switches each anomaly on and off again', async () => {
    const t = sim.tenant(TENANT.tenantId);
    const seen = new Set<string>();
    const observer = setInterval(() => seen.add(String(t.serviceActivityAnomaly)), 1);
    await runScenario(sim, TENANT.tenantId, 'service-activity-anomaly', { stepMs: 15 });
    clearInterval(observer);
    expect(seen).toEqual(new Set(['null', 'mfaSuccessDrop', 'exchangeConnectivityDrop', 'teamsAudioQualityDrop']));
    expect(t.serviceActivityAnomaly).toBeNull();
  });
});
