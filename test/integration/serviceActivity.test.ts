import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_ACTIVITY_FUNCTIONS } from '../../src/model/serviceActivityFunctions.js';
import type { Simulator } from '../../simulator/index.js';
import { select, value } from '../helpers/exposition.js';
import { tenantConfig, type ExporterProcess } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const tenant = (n: number) => ({ tenantId: `5a5a0000-0000-4000-8000-00000000000${n}`, clientId: `c1c10000-0000-4000-8000-00000000000${n}`, clientSecret: `secret-${n}` });
const FULL = tenant(1);
const DENIED = tenant(2);
const NATIONAL = tenant(3);
const FIVE_MINUTES = 300;

let stack: Stack;
let sim: Simulator;
let exporter: ExporterProcess;

beforeAll(async () => {
  stack = await startStack({
    simulator: { tenants: [FULL, DENIED, NATIONAL].map((t) => ({ ...t, services: 2 })) },
    prepare(sim) {
      sim.tenant(DENIED.tenantId).denyServiceActivity('teams');
      sim.tenant(NATIONAL.tenantId).setServiceActivityAvailability(false);
    },
    config: ({ sim }) => ({
      refresh: { health: '1s', issues: '1s', messages: '1m', serviceActivity: '4s' },
      serviceActivity: { aggregationInterval: 5, settleDelay: '30m', lookback: '1h', requestsPerMinute: 600 },
      tenants: [
        // `all` leaves out the two functions Graph's metadata lacks; naming them reads them (the simulator knows them).
        tenantConfig('full', sim, FULL, { serviceActivity: ['all', ...SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.learnOnly).map((f) => f.name)] }),
        tenantConfig('denied', sim, DENIED, { serviceActivity: ['teams', 'entra'] }),
        tenantConfig('national', sim, NATIONAL, { cloud: 'usgov', serviceActivity: ['exchange'] }),
      ],
    }),
  });
  ({ sim, exporter } = stack);
});

afterAll(() => stack?.stop());

describe('Monitoring API telemetry against the simulated tenant', () => {
  it('reads every function: the latest settled bucket, ratios 0-1, counters that exist from the start', async () => {
    const all = await exporter.samples();
    const now = Date.now() / 1_000;
    for (const fn of SERVICE_ACTIVITY_FUNCTIONS) {
      const labels = { tenant: 'full', workload: fn.workload, metric: fn.metric };
      expect(value(all, 'm365_service_activity_enabled', labels), fn.name).toBe(1);
      const start = value(all, 'm365_service_activity_bucket_start_timestamp_seconds', labels)!;
      expect(start % FIVE_MINUTES).toBe(0);
      // settled: ended at least settleDelay (30 min) ago, and it is the newest such bucket
      expect(now - (start + FIVE_MINUTES)).toBeGreaterThanOrEqual(30 * 60);
      expect(now - (start + FIVE_MINUTES)).toBeLessThan(30 * 60 + FIVE_MINUTES + 10);
      if (fn.kind === 'events') {
        expect(Number.isInteger(value(all, 'm365_service_activity_bucket_events', labels))).toBe(true);
        expect(value(all, 'm365_service_activity_events_total', labels)).toBe(0); // first read is the baseline
      } else if (fn.kind === 'distinct') {
        expect(Number.isInteger(value(all, 'm365_service_activity_distinct', { ...labels, entity: fn.entity! }))).toBe(true);
        expect(value(all, 'm365_service_activity_events_total', labels)).toBeUndefined();
      } else if (fn.kind === 'level') {
        expect(Number.isInteger(value(all, 'm365_service_activity_level', labels))).toBe(true);
        expect(value(all, 'm365_service_activity_events_total', labels)).toBeUndefined();
      } else {
        const ratio = value(all, 'm365_service_activity_ratio', labels)!;
        expect(ratio).toBeGreaterThan(0.9);
        expect(ratio).toBeLessThanOrEqual(1);
      }
    }
  });

  it('asks for aligned windows within 30 days, ending before the running bucket', async () => {
    const calls = sim.requests.filter((r) => r.kind === 'graph' && r.path.includes('/beta/reports/serviceActivity/') && r.status === 200);
    expect(calls.length).toBeGreaterThanOrEqual(40);
    for (const call of calls) {
      const match = call.path.match(/inclusiveIntervalStartDateTime=([^,]+),exclusiveIntervalEndDateTime=([^,]+),aggregationIntervalInMinutes=5\)$/);
      expect(match, call.path).not.toBeNull();
      const [start, end] = [Date.parse(match![1]!), Date.parse(match![2]!)];
      expect(start % (FIVE_MINUTES * 1_000)).toBe(0);
      expect(end % (FIVE_MINUTES * 1_000)).toBe(0);
      expect(end).toBeLessThanOrEqual(call.time.getTime());
      expect(start).toBeGreaterThan(call.time.getTime() - 30 * 86_400_000);
    }
  });

  it('disables only the functions without permission, says which permission, once', async () => {
    const all = await exporter.samples();
    for (const fn of SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.workload === 'teams' || f.workload === 'entra')) {
      expect(value(all, 'm365_service_activity_enabled', { tenant: 'denied', metric: fn.metric }), fn.name).toBe(fn.workload === 'teams' ? 0 : 1);
    }
    expect(value(all, 'm365_exporter_collector_success', { tenant: 'denied', collector: 'serviceActivity' })).toBe(1);
    const lines = exporter.logs.filter((l) => l.includes('"tenant":"denied"') && l.includes('Monitoring API function disabled'));
    expect(lines).toHaveLength(5);
    expect(lines.every((l) => l.includes('ServiceActivity-Teams.Read.All'))).toBe(true);
  });

  it('disables the API for a tenant whose cloud does not offer it, without touching service health', async () => {
    const all = await exporter.samples();
    const exchange = select(all, 'm365_service_activity_enabled', { tenant: 'national' });
    expect(exchange).toHaveLength(9);
    expect(exchange.every((s) => s.value === 0)).toBe(true);
    expect(value(all, 'm365_exporter_collector_success', { tenant: 'national', collector: 'health' })).toBe(1);
    expect(select(all, 'm365_service_info', { tenant: 'national' })).toHaveLength(2);
  });

  it('keeps the last good telemetry through a malformed answer and counts it', async () => {
    const before = await exporter.samples();
    const telemetry = (samples: typeof before) => ['m365_service_activity_bucket_events', 'm365_service_activity_distinct', 'm365_service_activity_level', 'm365_service_activity_ratio']
      .flatMap((family) => select(samples, family, { tenant: 'full' }).map((s) => `${family}${JSON.stringify(s.labels)} ${s.value}`));
    const latest = telemetry(before);
    expect(latest.length).toBeGreaterThanOrEqual(38);
    sim.tenant(FULL.tenantId).setFault({ kind: 'malformedJson', endpoint: 'serviceActivity' });
    const during = await waitFor('the failure', async () => {
      const s = await exporter.samples();
      return value(s, 'm365_exporter_collector_success', { tenant: 'full', collector: 'serviceActivity' }) === 0 && s;
    });
    expect(value(during, 'm365_exporter_collector_errors_total', { tenant: 'full', collector: 'serviceActivity', reason: 'invalid_response' })).toBeGreaterThan(0);
    expect(telemetry(during)).toEqual(latest);
    expect(value(during, 'm365_exporter_collector_success', { tenant: 'full', collector: 'health' })).toBe(1);
    sim.tenant(FULL.tenantId).clearFaults();
    await waitFor('recovery', async () => value(await exporter.samples(), 'm365_exporter_collector_success', { tenant: 'full', collector: 'serviceActivity' }) === 1);
  });
});
