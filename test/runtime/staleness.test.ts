/**
 * Bounded staleness end to end: the built exporter against the simulator with a short maxStaleness. While Graph
 * refuses one collector's endpoint, that collector's data series of that tenant disappear after maxStaleness; its
 * self-metrics stay (M365DataStale reads them), other collectors and tenants are untouched, and the data comes back
 * with the next successful refresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { select, value, type ParsedSample } from '../helpers/exposition.js';
import { tenantConfig } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000701', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000701', clientSecret: 'contoso-stale-secret-7' };
const FABRIKAM = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000702', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000702', clientSecret: 'fabrikam-stale-secret-8' };
const MAX_STALENESS_MS = 3_000;
/** What the health collector writes (src/collectors/healthOverviews.ts). */
const HEALTH_FAMILIES = ['m365_service_info', 'm365_service_status', 'm365_service_operational'];

let stack: Stack;
const samples = () => stack.exporter.samples();
const count = (all: ParsedSample[], name: string, tenant: string) => select(all, name, { tenant }).length;

beforeAll(async () => {
  stack = await startStack({
    simulator: { tenants: [{ ...CONTOSO, services: 'default' }, { ...FABRIKAM, services: 'default' }] },
    config: ({ sim }) => ({
      refresh: { health: '1s', issues: '1s', messages: '2s' },
      maxStaleness: `${MAX_STALENESS_MS / 1_000}s`,
      tenants: [tenantConfig('contoso', sim, CONTOSO), tenantConfig('fabrikam', sim, FABRIKAM)],
    }),
  });
});

afterAll(() => stack?.stop());

describe('a collector failing for longer than maxStaleness', () => {
  it('loses its data series for that tenant, keeps its self-metrics, and the rest stays', async () => {
    const before = await samples();
    for (const family of HEALTH_FAMILIES) expect(count(before, family, 'contoso'), family).toBeGreaterThan(0);
    const issuesBefore = count(before, 'm365_service_issues_open', 'contoso');
    expect(issuesBefore).toBeGreaterThan(0);

    stack.sim.tenant(CONTOSO.tenantId).setFault({ kind: 'forbidden', endpoint: 'healthOverviews' });
    const failing = await waitFor('a failed health refresh', async () => {
      const all = await samples();
      return value(all, 'm365_exporter_collector_success', { tenant: 'contoso', collector: 'health' }) === 0 && all;
    }, 10_000, 100);
    const lastSuccess = value(failing, 'm365_exporter_collector_last_success_timestamp_seconds', { tenant: 'contoso', collector: 'health' })!;
    // One failed refresh keeps the last good data.
    expect(count(failing, 'm365_service_info', 'contoso')).toBe(count(before, 'm365_service_info', 'contoso'));

    const gone = await waitFor('the health series of contoso to go', async () => {
      const all = await samples();
      return count(all, 'm365_service_info', 'contoso') === 0 && { all, at: Date.now() };
    }, 10_000, 100);
    expect(gone.at - lastSuccess * 1_000).toBeGreaterThanOrEqual(MAX_STALENESS_MS);
    for (const family of HEALTH_FAMILIES) {
      expect(count(gone.all, family, 'contoso'), family).toBe(0);
      expect(count(gone.all, family, 'fabrikam'), family).toBe(count(before, family, 'fabrikam'));
    }
    const health = { tenant: 'contoso', collector: 'health' };
    expect(value(gone.all, 'm365_exporter_collector_success', health)).toBe(0);
    expect(value(gone.all, 'm365_exporter_collector_last_success_timestamp_seconds', health)).toBe(lastSuccess);
    expect(value(gone.all, 'm365_exporter_collector_refresh_interval_seconds', health)).toBe(1);
    expect(value(gone.all, 'm365_exporter_collector_errors_total', { ...health, reason: 'graph_error' })).toBeGreaterThanOrEqual(3);
    // The issues collector of the same tenant still refreshes, so its series stay.
    expect(value(gone.all, 'm365_exporter_collector_success', { tenant: 'contoso', collector: 'issues' })).toBe(1);
    expect(count(gone.all, 'm365_service_issues_open', 'contoso')).toBe(issuesBefore);
    // Logged once, at the first failed refresh after maxStaleness.
    const logged = () => stack.exporter.logs.filter((line) => line.includes('"tenant":"contoso"') && line.includes('"collector":"health"') && line.includes('no longer exported'));
    await waitFor('the log line', () => logged().length > 0, 5_000, 100);
    await waitFor('two more failed refreshes', async () => (value(await samples(), 'm365_exporter_collector_errors_total', { ...health, reason: 'graph_error' }) ?? 0) >= 6, 10_000, 200);
    expect(logged()).toHaveLength(1);
  });

  it('gets its data back with the next successful refresh', async () => {
    stack.sim.tenant(CONTOSO.tenantId).clearFaults();
    const back = await waitFor('the health series of contoso to return', async () => {
      const all = await samples();
      return count(all, 'm365_service_info', 'contoso') > 0 && all;
    }, 10_000, 100);
    expect(value(back, 'm365_exporter_collector_success', { tenant: 'contoso', collector: 'health' })).toBe(1);
    expect(count(back, 'm365_service_status', 'contoso')).toBeGreaterThan(0);
  });
});
