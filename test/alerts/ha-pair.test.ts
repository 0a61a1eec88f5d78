/**
 * Dashboards and rules with an HA pair: two exporters exporting the same tenants (deploy/kubernetes runs them as two
 * replicas of a shard). One exporter is scraped by two Prometheus servers: `single` scrapes it once, `pair` twice under
 * two instance names (127.0.0.1:port and localhost:port), which is exactly what two replicas with the same data look
 * like to Prometheus. Every query of the tenant dashboards must answer the same on both (no sum that doubles, no join
 * that fails on duplicates, no table row twice), and the same alerts must fire on both, once each. The exporter
 * dashboard is about the exporters themselves: its queries must work on the pair, per instance where it matters.
 *
 * The data stands still after the exporter's first refresh (refresh intervals of an hour), and both servers are asked
 * at the same evaluation time, so their answers can be compared exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimTenant } from '../../simulator/index.js';
import { dashboardFiles, panelQueries, type PanelQuery } from '../helpers/dashboards.js';
import { tenantConfig } from '../helpers/exporterProcess.js';
import { rulesWithoutFor, startPrometheus, type PromVector, type RunningBinary } from '../helpers/binaries.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const CONTOSO = { tenantId: '5e1f0000-0000-4000-8000-0000000000a1', clientId: 'c11e0000-0000-4000-8000-0000000000a1', clientSecret: 'ha-secret' };
const FABRIKAM = { tenantId: '5e1f0000-0000-4000-8000-0000000000a2', clientId: 'c11e0000-0000-4000-8000-0000000000a2', clientSecret: 'ha-secret' };
const DAY_MS = 86_400_000;
/** The dashboards about tenants' data, which must not see the second copy; m365-exporter.json is about the exporters. */
const TENANT_DASHBOARDS = ['m365-fleet.json', 'm365-overview.json', 'm365-service-activity.json'];

type Prometheus = RunningBinary & { query(expr: string): Promise<PromVector> };

async function queryAt(prometheus: Prometheus, expr: string, time: number): Promise<PromVector> {
  const response = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${time}`);
  const body = (await response.json()) as { status: string; error?: string; data: { result: PromVector } };
  if (body.status !== 'success') throw new Error(body.error);
  return body.data.result;
}

/** A result as a sorted list of `labels => value`, without the labels that tell the two copies apart. */
function canonical(result: PromVector): string[] {
  return result.map(({ metric, value }) => {
    const labels = Object.entries(metric).filter(([name]) => name !== 'instance' && name !== 'job').sort(([a], [b]) => a.localeCompare(b));
    return `${JSON.stringify(labels)} => ${Number(value[1]).toPrecision(12)}`;
  }).sort();
}

describe('dashboards and rules with an HA pair (one exporter scraped as two replicas)', () => {
  let stack: Stack;
  let single: Prometheus;
  let pair: Prometheus;
  let at: number;

  beforeAll(async () => {
    stack = await startStack({
      simulator: { tenants: [CONTOSO, FABRIKAM], serviceActivitySettleSeconds: 1 },
      prepare(sim) {
        const contoso: SimTenant = sim.tenant(CONTOSO.tenantId);
        contoso.openIssue({ serviceId: 'Exchange', classification: 'incident', status: 'serviceInterruption', title: 'Users cannot access their mailbox', featureGroup: 'Networking Issues', feature: 'Outlook on the web' });
        contoso.setServiceStatus('Exchange', 'serviceInterruption');
        contoso.openIssue({ serviceId: 'SharePoint', classification: 'advisory', status: 'serviceDegradation', title: 'Delays viewing uploaded files' });
        contoso.setServiceStatus('SharePoint', 'serviceDegradation');
        contoso.addMessage({ title: 'Action required: review external sharing', category: 'planForChange', actionRequiredByDateTime: new Date(Date.now() + 3 * DAY_MS) });
        sim.tenant(FABRIKAM.tenantId).denyServiceActivity('getMetricsForMfaSignInSuccess');
      },
      config: ({ sim }) => ({
        // One refresh, then an hour of standing data: both servers see the same values.
        refresh: { health: '1h', issues: '1h', messages: '1h', serviceActivity: '1h' },
        serviceActivity: { aggregationInterval: 5, settleDelay: '1s', lookback: '1h' },
        tenants: [
          tenantConfig('contoso', sim, CONTOSO, { clientSecretExpiresAt: new Date(Date.now() + 10 * DAY_MS).toISOString(), serviceActivity: ['exchange', 'teams'] }),
          tenantConfig('fabrikam', sim, FABRIKAM, { serviceActivity: ['entra'] }),
        ],
      }),
    });
    const { port } = new URL(stack.exporter.url);
    const rules = rulesWithoutFor();
    [single, pair] = await Promise.all([
      startPrometheus({ scrape: [{ job: 'm365-health-exporter', target: `127.0.0.1:${port}` }], ruleFiles: [rules] }),
      startPrometheus({ scrape: [{ job: 'm365-health-exporter', target: [`127.0.0.1:${port}`, `localhost:${port}`] }], ruleFiles: [rules] }),
    ]);
    // Three scrapes of every instance, and rules evaluated on them (the interruption firing) in both servers.
    const settled = async (prometheus: Prometheus, instances: string) =>
      (await prometheus.query('count(count_over_time(m365_service_info{tenant="contoso",service_id="Exchange"}[1m]) >= 3)'))[0]?.value[1] === instances
      && (await prometheus.query('ALERTS{alertname="M365ServiceInterruption",alertstate="firing"}')).length > 0;
    await waitFor('both servers to scrape and evaluate the standing data', async () => (await settled(single, '1')) && (await settled(pair, '2')), 30_000, 250);
    at = Math.floor(Date.now() / 1000);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([single?.stop(), pair?.stop()]);
    await stack?.stop();
  }, 30_000);

  it('scrapes one exporter as two instances in the pair', async () => {
    expect((await queryAt(pair, 'count(count by (instance) (m365_service_info))', at))[0]!.value[1]).toBe('2');
  });

  it.each(TENANT_DASHBOARDS)('%s: every query answers the same with two replicas as with one', async (file) => {
    const differences: string[] = [];
    for (const q of panelQueries(file)) {
      const key = `${q.panel}/${q.refId}`;
      try {
        const [once, twice] = await Promise.all([queryAt(single, q.expr, at), queryAt(pair, q.expr, at)]);
        if (JSON.stringify(canonical(once)) !== JSON.stringify(canonical(twice))) {
          differences.push(`${key}: ${q.expr}\n  one replica:  ${canonical(once).join('; ')}\n  two replicas: ${canonical(twice).join('; ')}`);
        }
      } catch (error) {
        differences.push(`${key}: ${(error as Error).message} in ${q.expr}`);
      }
    }
    expect(differences).toEqual([]);
  });

  it('m365-exporter.json: every query works on the pair, and the per-exporter panels show both instances', async () => {
    const failures: string[] = [];
    const perInstance: PanelQuery[] = [];
    for (const q of panelQueries('m365-exporter.json')) {
      try {
        const result = await queryAt(pair, q.expr, at);
        if (new Set(result.map((s) => s.metric.instance)).size === 2) perInstance.push(q);
      } catch (error) {
        failures.push(`${q.panel}/${q.refId}: ${(error as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
    expect(perInstance.map((q) => q.panel)).toEqual(expect.arrayContaining(['Exporter up', 'Collector status', 'Data age', 'Request budget left']));
  });

  it('fires the same alerts once each, with two replicas as with one', async () => {
    const firing = async (prometheus: Prometheus) => canonical(await queryAt(prometheus, 'ALERTS{alertstate="firing"}', at));
    const once = await firing(single);
    expect(once.map((line) => /"alertname","(\w+)"/.exec(line)?.[1])).toEqual(expect.arrayContaining(['M365ServiceInterruption', 'M365MessageCenterActionDue', 'M365CredentialExpiringSoon', 'M365ServiceActivityFunctionDisabled']));
    expect(await firing(pair)).toEqual(once);
  });

  it('knows every dashboard: a tenant dashboard (compared) or the exporter dashboard', () => {
    expect(dashboardFiles().filter((f) => !TENANT_DASHBOARDS.includes(f) && f !== 'm365-exporter.json')).toEqual([]);
  });
});
