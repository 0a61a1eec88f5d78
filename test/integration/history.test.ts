/**
 * The history store against the real exporter process and the simulator, restarted mid-scenario (SIGTERM, as an
 * upgrade or a rescheduled pod does): counters continue, what happened while it was down is counted once, and
 * /api/v1/history and m365_service_availability_ratio come from what it stored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVICE_ACTIVITY_FUNCTIONS } from '../../src/model/serviceActivityFunctions.js';
import type { DailyHistory } from '../../src/history/daily.js';
import { select, value, type ParsedSample } from '../helpers/exposition.js';
import { tenantConfig } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';
import { call, token } from '../simulator/helpers.js';

const TENANT = { tenantId: '4157a000-0000-4000-8000-000000000001', clientId: '4157c000-0000-4000-8000-000000000001', clientSecret: 'history-secret', users: 2000 };
const BUCKET_MS = 300_000;
const ENTRA_EVENTS = SERVICE_ACTIVITY_FUNCTIONS.filter((fn) => fn.workload === 'entra' && fn.kind === 'events');

let stack: Stack;
let dir: string;

/** settleDelay is the knob: 30m before the restart, 1s after, so buckets settle "while the exporter is down". */
const config = (settleDelay: string) => ({ sim }: { sim: Stack['sim'] }) => ({
  refresh: { health: '1s', issues: '1s', messages: '1m', serviceActivity: '2s' },
  serviceActivity: { aggregationInterval: 5, settleDelay, lookback: '1h', requestsPerMinute: 600 },
  storage: { path: join(dir, 'store', 'history.db'), flushInterval: '1s' },
  tenants: [tenantConfig('t', sim, TENANT, { serviceActivity: ['entra'] })],
});

const sum = (samples: ParsedSample[], name: string, labels: Record<string, string> = {}) => select(samples, name, labels).reduce((total, s) => total + s.value, 0);
const labelsOf = (fn: (typeof ENTRA_EVENTS)[number]) => ({ tenant: 't', workload: fn.workload, metric: fn.metric });

/** What the simulator answers for a function's buckets in [start, end): the truth the counter must add up to. */
async function simulatedEvents(fnName: string, start: number, end: number): Promise<number> {
  if (end <= start) return 0;
  const at = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  const res = await call(stack.sim, 'GET', `/beta/reports/serviceActivity/${fnName}(inclusiveIntervalStartDateTime=${at(start)},exclusiveIntervalEndDateTime=${at(end)},aggregationIntervalInMinutes=5)`,
    { headers: { Authorization: `Bearer ${await token(stack.sim, TENANT)}` } });
  expect(res.status, res.text).toBe(200);
  return (res.json<{ value: Array<{ value: number }> }>().value).reduce((total, bucket) => total + bucket.value, 0);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'm365-history-'));
  stack = await startStack({
    simulator: { tenants: [TENANT], serviceActivitySettleSeconds: 1 },
    config: config('30m'),
  });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('history across a restart of the exporter', () => {
  const baseline = new Map<string, number>();
  let incidentBefore = '';
  let incidentDuring = '';
  let advisoryDuring = '';

  it('continues every counter and counts what happened while it was down once', async () => {
    const sim = stack.sim.tenant(TENANT.tenantId);
    // Running: the Monitoring API's first read is a baseline, an incident opened now is counted once.
    let before = await waitFor('the baseline of every entra event function', async () => {
      const samples = await stack.exporter.samples();
      return ENTRA_EVENTS.every((fn) => value(samples, 'm365_service_activity_bucket_start_timestamp_seconds', labelsOf(fn)) !== undefined) ? samples : undefined;
    }, 20_000, 200);
    for (const fn of ENTRA_EVENTS) {
      baseline.set(fn.name, value(before, 'm365_service_activity_bucket_start_timestamp_seconds', labelsOf(fn))! * 1_000 + BUCKET_MS);
      expect(value(before, 'm365_service_activity_events_total', labelsOf(fn))).toBe(0);
    }
    incidentBefore = sim.openIssue({ serviceId: 'Exchange', classification: 'incident', status: 'serviceDegradation', title: 'Mail delayed', featureGroup: 'E-Mail and calendar access' });
    const observed = { tenant: 't', service_id: 'Exchange', classification: 'incident' };
    before = await waitFor('the new incident to be counted', async () => {
      const samples = await stack.exporter.samples();
      return value(samples, 'm365_service_issues_observed_total', observed) === 1 ? samples : undefined;
    }, 10_000, 200);
    const statusChangesBefore = value(before, 'm365_service_status_changes_total', { tenant: 't', service_id: 'SharePoint' })!;

    // Down: its SIGTERM writes the store; meanwhile an incident and an advisory open and a status changes.
    await stack.exporter.stop();
    incidentDuring = sim.openIssue({ serviceId: 'Exchange', classification: 'incident', status: 'serviceInterruption', title: 'Mailboxes unreachable', featureGroup: 'E-Mail and calendar access' });
    advisoryDuring = sim.openIssue({ serviceId: 'Exchange', classification: 'advisory', status: 'serviceDegradation', title: 'Some rules slow', featureGroup: 'Management and Provisioning' });
    sim.setServiceStatus('SharePoint', 'serviceDegradation');
    await stack.restartExporter(config('1s')({ sim: stack.sim }));

    const after = await waitFor('the restarted exporter to read the functions and the issues', async () => {
      const samples = await stack.exporter.samples();
      const read = ENTRA_EVENTS.every((fn) => value(samples, 'm365_service_activity_bucket_start_timestamp_seconds', labelsOf(fn))! * 1_000 + BUCKET_MS > baseline.get(fn.name)!);
      return read && value(samples, 'm365_service_issues_observed_total', observed) === 2 ? samples : undefined;
    }, 20_000, 200);
    // Known issues are not counted again, the one opened while down is counted once (2, not 0 or 3).
    expect(value(after, 'm365_service_issues_observed_total', { ...observed, classification: 'advisory' })).toBe(1);
    expect(value(after, 'm365_service_status_changes_total', { tenant: 't', service_id: 'SharePoint' })).toBe(statusChangesBefore + 1);
    // Every series of the request counter continues from where it was.
    const requestsBefore = select(before, 'm365_exporter_graph_requests_total');
    expect(requestsBefore.length).toBeGreaterThan(2);
    for (const series of requestsBefore) {
      expect(value(after, 'm365_exporter_graph_requests_total', series.labels), JSON.stringify(series.labels)).toBeGreaterThanOrEqual(series.value);
    }
    console.log(`graph requests: ${sum(before, 'm365_exporter_graph_requests_total')} before the restart, ${sum(after, 'm365_exporter_graph_requests_total')} after`);
    // Every bucket that settled between the baseline and the latest read is added once, exactly as the simulator has it.
    console.log(`events counted at restart: ${sum(after, 'm365_service_activity_events_total')} over ${ENTRA_EVENTS.length} functions`);
    let expectedInAll = 0;
    for (const fn of ENTRA_EVENTS) {
      const through = value(after, 'm365_service_activity_bucket_start_timestamp_seconds', labelsOf(fn))! * 1_000 + BUCKET_MS;
      const expected = await simulatedEvents(fn.name, baseline.get(fn.name)!, through);
      expect(value(after, 'm365_service_activity_events_total', labelsOf(fn)), fn.name).toBe(expected);
      expectedInAll += expected;
    }
    // Some function had events to count (one may have none in so short a window: CI once saw a function with 0).
    expect(expectedInAll).toBeGreaterThan(0);
  });

  it('counts no bucket twice when restarted again', async () => {
    await stack.restartExporter(config('1s')({ sim: stack.sim }));
    const samples = await waitFor('the functions read after the second restart', async () => {
      const s = await stack.exporter.samples();
      return ENTRA_EVENTS.every((fn) => value(s, 'm365_service_activity_events_total', labelsOf(fn)) !== undefined
        && value(s, 'm365_service_activity_bucket_start_timestamp_seconds', labelsOf(fn)) !== undefined) ? s : undefined;
    }, 20_000, 200);
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // a refresh or two more, which must add nothing already counted
    const latest = await stack.exporter.samples();
    for (const fn of ENTRA_EVENTS) {
      const through = value(latest, 'm365_service_activity_bucket_start_timestamp_seconds', labelsOf(fn))! * 1_000 + BUCKET_MS;
      expect(value(latest, 'm365_service_activity_events_total', labelsOf(fn)), fn.name).toBe(await simulatedEvents(fn.name, baseline.get(fn.name)!, through));
    }
    expect(value(samples, 'm365_service_issues_observed_total', { tenant: 't', service_id: 'Exchange', classification: 'incident' })).toBe(2);
    expect(value(latest, 'm365_exporter_storage_healthy')).toBe(1);
    expect(value(latest, 'm365_exporter_storage_write_errors_total')).toBe(0);
  });

  it('serves the daily history from what it stored: ids, feature groups and the worst status of today', async () => {
    const response = await stack.exporter.fetch('/api/v1/history?tenant=t&days=7');
    expect(response.status).toBe(200);
    const history = await response.json() as DailyHistory;
    expect(history.days).toBe(7);
    const exchange = history.services.find((s) => s.serviceId === 'Exchange')!;
    expect(exchange.serviceName).toBe('Exchange Online');
    expect(exchange.days).toHaveLength(7);
    const today = exchange.days.at(-1)!;
    expect(today.date).toBe(new Date().toISOString().slice(0, 10));
    expect(today.incidents).toEqual(expect.arrayContaining([incidentBefore, incidentDuring]));
    expect(today.advisories).toContain(advisoryDuring);
    expect(today.worstStatus).toBe('serviceInterruption');
    const mail = today.featureGroups.find((g) => g.featureGroup === 'E-Mail and calendar access')!;
    expect(mail.incidents).toEqual(expect.arrayContaining([incidentBefore, incidentDuring]));
    expect(mail.advisories).toEqual([]);
    const sharepoint = history.services.find((s) => s.serviceId === 'SharePoint')!;
    expect(sharepoint.days.at(-1)!.worstStatus).toBe('serviceDegradation'); // observed, with no issue of its own
  });

  it('answers 400 for a missing or unknown tenant and for days out of range, naming no tenant', async () => {
    for (const query of ['', '?days=7', '?tenant=nope&days=7', '?tenant=t&days=0', '?tenant=t&days=91', '?tenant=t&days=seven']) {
      const response = await stack.exporter.fetch(`/api/v1/history${query}`);
      const text = await response.text();
      expect(response.status, query).toBe(400);
      expect(text).not.toMatch(/"t"/);
    }
  });

  it('exports availability per service and window: less than 1 under incidents, 1 with only an advisory or nothing', async () => {
    const samples = await stack.exporter.samples();
    for (const window of ['7d', '30d']) {
      const exchange = value(samples, 'm365_service_availability_ratio', { tenant: 't', service_id: 'Exchange', window })!;
      expect(exchange).toBeLessThan(1);
      expect(exchange).toBeGreaterThan(0.99);
    }
    // Forms: no issue in the simulator's catalogue history, nothing observed but operational.
    expect(value(samples, 'm365_service_availability_ratio', { tenant: 't', service_id: 'Forms', window: '30d' })).toBe(1);
  });
});
