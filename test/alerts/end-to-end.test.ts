/**
 * End to end: simulator → built exporter → real Prometheus (the rule file loaded) → real Alertmanager (routing of
 * alerts/alertmanager.yml) → a webhook receiver this test runs. Also executes every dashboard panel query against
 * the same Prometheus. The tenant reads every Monitoring API function (serviceActivity: [all]) except one the
 * simulator refuses with 403, so the serviceActivity dashboard has data and the disabled-function alert arrives.
 *
 * `for:` durations cannot be shortened per evaluation, so the test loads a copy of alerts/m365-rules.yml with every
 * `for` rewritten to 0s (thresholds and expressions unchanged); their production values are covered by the
 * promtool unit tests in alerts/tests/. Likewise the Alertmanager copy keeps routes, grouping and inhibitions and
 * only points the receivers at the local webhook and shortens group_wait/group_interval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimTenant } from '../../simulator/index.js';
import { panelsWithoutData } from '../helpers/dashboards.js';
import { tenantConfig, type ExporterProcess } from '../helpers/exporterProcess.js';
import { alertmanagerConfigFor, rulesWithoutFor, startAlertmanager, startPrometheus, type RunningBinary, type PromVector } from '../helpers/binaries.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { SERVICE_ACTIVITY_FUNCTIONS } from '../../src/model/serviceActivityFunctions.js';
import { runbookUrl } from '../../alerts/src/config.js';
import { waitFor } from '../helpers/wait.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook.js';

/** `all` leaves out the two functions Graph's metadata lacks; naming them reads them too (the simulator knows them). */
const EVERY_FUNCTION = ['all', ...SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.learnOnly).map((f) => f.name)];

const TENANT = { tenantId: '5e1f0000-0000-4000-8000-00000000e2e1', clientId: 'c11e0000-0000-4000-8000-00000000e2e1', clientSecret: 'e2e-secret' };
const DAY_MS = 86_400_000;

/**
 * Panels legitimately empty in this scenario, with the reason. Every other panel query must return data.
 * Keyed by `<dashboard file>/<panel title>/<refId>`.
 */
const EMPTY_ALLOWED: Record<string, string> = {
  'm365-exporter.json/Token errors/A': 'm365_exporter_token_error_info exists only while token requests fail; the scenario has no token failure',
  'm365-service-activity.json/Count functions against the same time last week/ratio': 'compares with offset 1w: a Prometheus started by the test has no history from a week ago (the panel says so)',
  'm365-service-activity.json/Count functions against the same time last week/lastweek': 'the same: avg_over_time(...[30m] offset 1w) needs a week of history',
};

/** Refused by the simulator (403): the exporter disables it and M365ServiceActivityFunctionDisabled names the permission. */
const DENIED_FUNCTION = 'getMetricsForAgentIdAutonomousSignInFailure';

describe('alerts and dashboards against real Prometheus and Alertmanager', () => {
  let stack: Stack;
  let tenant: SimTenant;
  let exporter: ExporterProcess;
  let webhook: WebhookReceiver;
  let alertmanager: RunningBinary;
  let prometheus: RunningBinary & { query(expr: string): Promise<PromVector> };
  const started = Date.now();

  beforeAll(async () => {
    webhook = await startWebhookReceiver();
    alertmanager = await startAlertmanager(alertmanagerConfigFor(webhook));
    stack = await startStack({
      // Late data settles after 1s (the exporter's settleDelay below), so buckets are final as soon as they end.
      simulator: { tenants: [TENANT], serviceActivitySettleSeconds: 1 },
      prepare(sim) {
        tenant = sim.tenant(TENANT.tenantId);
        tenant.denyServiceActivity(DENIED_FUNCTION);
        // Standing state: an advisory that degrades SharePoint (must not alert) and a post needing action in 3 days.
        tenant.openIssue({ serviceId: 'SharePoint', classification: 'advisory', status: 'serviceDegradation', title: 'Delays viewing uploaded files', featureGroup: 'SharePoint Features', feature: 'SharePoint Features' });
        tenant.setServiceStatus('SharePoint', 'serviceDegradation');
        tenant.addMessage({ title: 'Action required: review external sharing', category: 'planForChange', actionRequiredByDateTime: new Date(Date.now() + 3 * DAY_MS) });
      },
      config: ({ sim }) => ({
        refresh: { health: '1s', issues: '1s', messages: '1s', serviceActivity: '2s' },
        // First read of each function: the last hour of buckets, the latest final one becomes the value/ratio gauges;
        // events_total starts at 0 and grows when later buckets settle (at the next 5-minute boundary).
        serviceActivity: { aggregationInterval: 5, settleDelay: '1s', lookback: '1h' },
        tenants: [tenantConfig('contoso', sim, TENANT, { clientSecretExpiresAt: new Date(Date.now() + 10 * DAY_MS).toISOString(), serviceActivity: EVERY_FUNCTION })],
      }),
    });
    exporter = stack.exporter;
    prometheus = await startPrometheus({
      scrape: [{ job: 'm365-health-exporter', target: new URL(exporter.url).host }],
      ruleFiles: [rulesWithoutFor()],
      alertmanager: new URL(alertmanager.url).host,
    });
    await waitFor('Prometheus to have service health', async () => (await prometheus.query('m365_service_info{tenant="contoso"}')).length > 0, 20_000, 250);
    await waitFor('Prometheus to have two scrapes of every Monitoring API function', async () =>
      (await prometheus.query('count(count_over_time(m365_service_activity_enabled{tenant="contoso"}[1m]) >= 2)'))[0]?.value[1] === '40'
      && (await prometheus.query('count(m365_service_activity_bucket_start_timestamp_seconds{tenant="contoso"})'))[0]?.value[1] === '39', 20_000, 250);
    // Make the self-monitoring panels move: a throttled request and an unparseable answer (one failed refresh).
    tenant.setFault({ kind: 'throttle', count: 1, retryAfterSeconds: 0.2, endpoint: 'healthOverviews' });
    tenant.setFault({ kind: 'malformedJson', count: 1, endpoint: 'messages' });
    await waitFor('two scrapes of the throttled request and the failed refresh', async () =>
      (await prometheus.query('count_over_time(m365_exporter_graph_requests_total{code="429"}[1m]) >= 2')).length > 0
      && (await prometheus.query('count_over_time(m365_exporter_collector_errors_total[1m]) >= 2')).length > 0, 20_000, 250);
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled([prometheus?.stop(), alertmanager?.stop()]);
    await Promise.allSettled([stack?.stop(), webhook?.stop()]);
  }, 30_000);

  let incident: string;
  let openedAt: number;

  it('pages on an incident interruption and warns on an incident degradation, with the right labels', async () => {
    openedAt = Date.now();
    incident = tenant.openIssue({ serviceId: 'Exchange', classification: 'incident', status: 'serviceInterruption', title: 'Users cannot access their mailbox', featureGroup: 'Networking Issues', feature: 'Outlook on the web' });
    tenant.openIssue({ serviceId: 'microsoftteams', classification: 'incident', status: 'investigating', title: 'Meetings fail to start' });

    const [paged] = await waitFor('the interruption at the pager webhook', () => {
      const found = webhook.find('/pager', 'firing', { alertname: 'M365ServiceInterruption', tenant: 'contoso', service_id: 'Exchange' });
      return found.length > 0 ? found : undefined;
    }, 30_000, 100);
    console.info(`incident open → pager webhook: ${paged!.receivedAt - openedAt} ms`);
    expect(paged!.labels).toMatchObject({ severity: 'critical', tenant: 'contoso', service_id: 'Exchange' });
    expect(paged!.annotations.description).toContain(`${incident} "Users cannot access their mailbox"`);
    expect(paged!.annotations.runbook_url).toBe(runbookUrl('M365ServiceInterruption'));

    const [chat] = await waitFor('the incident degradation at the chat webhook', () => {
      const found = webhook.find('/chat', 'firing', { alertname: 'M365ServiceDegradedByIncident', service_id: 'microsoftteams' });
      return found.length > 0 ? found : undefined;
    }, 30_000, 100);
    expect(chat!.labels).toMatchObject({ severity: 'warning', tenant: 'contoso' });
    expect(webhook.find('/pager', 'firing', { alertname: 'M365ServiceDegradedByIncident' })).toEqual([]);
  }, 60_000);

  it('executes every dashboard panel query with data', async () => {
    const { queries, failures } = await panelsWithoutData((expr) => prometheus.query(expr), EMPTY_ALLOWED);
    expect(queries).toBeGreaterThan(20);
    expect(failures).toEqual([]);
  }, 30_000);

  it('reports the Monitoring API function Graph refuses, with the permission to grant, and no telemetry anomaly', async () => {
    const [disabled] = await waitFor('the disabled-function alert at the chat webhook', () => {
      const found = webhook.find('/chat', 'firing', { alertname: 'M365ServiceActivityFunctionDisabled', tenant: 'contoso' });
      return found.length > 0 ? found : undefined;
    }, 30_000, 100);
    expect(disabled!.labels).toMatchObject({ severity: 'info', workload: 'agent_id', metric: 'get_metrics_for_agent_id_autonomous_sign_in_failure' });
    expect(disabled!.annotations.description).toContain('grant the application permission Reports.Read.All');
    expect(exporter.logs.some((line) => line.includes(DENIED_FUNCTION) && line.includes('Reports.Read.All'))).toBe(true);
    // Every other function is read and fresh: the serviceActivity recording rules see them, no anomaly or staleness.
    expect(await prometheus.query('count(m365_service_activity_enabled{tenant="contoso"} == 1)')).toMatchObject([{ value: [expect.any(Number), '39'] }]);
    expect((await prometheus.query('m365:service_activity_bucket_age_seconds{tenant="contoso"}')).length).toBe(39);
    const anomalies = webhook.notifications.flatMap((n) => n.alerts).filter((a) => a.labels.workload !== undefined && a.labels.alertname !== 'M365ServiceActivityFunctionDisabled');
    expect(anomalies).toEqual([]);
  }, 60_000);

  it('resolves the page when the incident is resolved, and never alerts on the advisory', async () => {
    const resolvedAt = Date.now();
    tenant.resolveIssue(incident, 'serviceRestored');
    const [resolved] = await waitFor('the resolved notification at the pager webhook', () => {
      const found = webhook.find('/pager', 'resolved', { alertname: 'M365ServiceInterruption', service_id: 'Exchange' });
      return found.length > 0 ? found : undefined;
    }, 30_000, 100);
    console.info(`incident resolved → resolved notification: ${resolved!.receivedAt - resolvedAt} ms; e2e so far ${Date.now() - started} ms`);

    const sharePoint = webhook.notifications.flatMap((n) => n.alerts).filter((a) => a.labels.service_id === 'SharePoint');
    expect(sharePoint).toEqual([]);
    // The one failed messages refresh (malformed JSON) must not make the data stale.
    expect(webhook.find('/chat', 'firing', { alertname: 'M365DataStale' })).toEqual([]);
  }, 60_000);
});
