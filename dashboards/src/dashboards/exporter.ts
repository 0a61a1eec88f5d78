/**
 * Exporter self-monitoring: is the data fresh, how does Graph answer, will authentication keep working. About the
 * exporters themselves, so with several (shards, HA pairs) the per-exporter panels show each `instance`; what the
 * exporters sent to Graph is summed, as Graph counts it.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { JOB, TENANT, baseDashboard, mergeAndOrganize, query, sortBy, lastValue, type DashboardDefinition } from '../lib.js';

function graph(title: string, description: string, unit: string, ...targets: ReturnType<typeof query>[]): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder().title(title).description(description).unit(unit).min(0).height(8).span(12);
  for (const target of targets) panel.withTarget(target);
  return panel;
}

const definition: DashboardDefinition = {
  file: 'm365-exporter.json',
  build: () =>
    baseDashboard('m365-exporter', 'Microsoft 365 / Exporter', 'Self-monitoring of m365-health-exporter: collector freshness, Microsoft Graph requests, throttling, tokens and credentials.')
      .withRow(new dashboard.RowBuilder('Collectors'))
      .withPanel(
        new stat.PanelBuilder()
          .title('Exporter up')
          .description(`Prometheus could scrape the exporter (up{${JOB}}).`)
          .withTarget(query(`up{${JOB}}`, { legend: '{{instance}}', table: false }).instant())
          .mappings([{ type: dashboard.MappingType.ValueToText, options: { '1': { text: 'UP', color: 'green', index: 0 }, '0': { text: 'DOWN', color: 'red', index: 1 } } }])
          .colorMode(common.BigValueColorMode.Background)
          .graphMode(common.BigValueGraphMode.None)
          .reduceOptions(lastValue())
          .height(6)
          .span(6),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Collector status')
          .description('Per exporter, tenant and collector: result of the last refresh, age of the last successful one, duration of the last refresh.')
          .withTarget(query(`m365_exporter_collector_success{${TENANT}}`, { table: true, refId: 'success' }))
          .withTarget(query(`time() - m365_exporter_collector_last_success_timestamp_seconds{${TENANT}}`, { table: true, refId: 'age' }))
          .withTarget(query(`m365_exporter_collector_duration_seconds{${TENANT}}`, { table: true, refId: 'duration' }))
          .transformations(mergeAndOrganize({ instance: 'Exporter', tenant: 'Tenant', collector: 'Collector', 'Value #success': 'Last refresh', 'Value #age': 'Data age', 'Value #duration': 'Duration' }))
          .sortBy([sortBy('Last refresh', false)])
          .overrideByName('Last refresh', [
            { id: 'mappings', value: [{ type: 'value', options: { '1': { text: 'OK', color: 'green', index: 0 }, '0': { text: 'FAILED', color: 'red', index: 1 } } }] },
            { id: 'custom.cellOptions', value: { type: 'color-background' } },
          ])
          .overrideByName('Data age', [{ id: 'unit', value: 's' }, { id: 'decimals', value: 0 }])
          .overrideByName('Duration', [{ id: 'unit', value: 's' }])
          .height(6)
          .span(18),
      )
      .withPanel(graph('Data age', 'Seconds since the last successful refresh of each collector (m365:collector_staleness_seconds). The M365DataStale alert fires above its threshold.', 's',
        query(`m365:collector_staleness_seconds{${TENANT}}`, { legend: '{{tenant}} {{collector}} ({{instance}})' })))
      .withPanel(graph('Failed refreshes', 'Failed collector refreshes by exporter and reason.', 'none',
        query(`sum by (instance, tenant, collector, reason) (increase(m365_exporter_collector_errors_total{${TENANT}}[$__rate_interval]))`, { legend: '{{tenant}} {{collector}} {{reason}} ({{instance}})' })))
      .withRow(new dashboard.RowBuilder('Microsoft Graph'))
      .withPanel(graph('Graph requests by endpoint', 'Requests per second to the service communications API, by endpoint and HTTP status code.', 'reqps',
        query(`sum by (endpoint, code) (rate(m365_exporter_graph_requests_total{${TENANT}}[$__rate_interval]))`, { legend: '{{endpoint}} {{code}}' })))
      .withPanel(graph('Graph errors by endpoint', 'Requests per second that did not answer 2xx (including 429, timeouts and network errors).', 'reqps',
        query(`sum by (endpoint, code) (rate(m365_exporter_graph_requests_total{${TENANT}, code!~"2.."}[$__rate_interval]))`, { legend: '{{endpoint}} {{code}}' })))
      .withPanel(graph('Graph latency by endpoint', '95th and 50th percentile of request duration.', 's',
        query(`histogram_quantile(0.95, sum by (endpoint, le) (rate(m365_exporter_graph_request_duration_seconds_bucket{${TENANT}}[$__rate_interval])))`, { legend: 'p95 {{endpoint}}', refId: 'p95' }),
        query(`histogram_quantile(0.5, sum by (endpoint, le) (rate(m365_exporter_graph_request_duration_seconds_bucket{${TENANT}}[$__rate_interval])))`, { legend: 'p50 {{endpoint}}', refId: 'p50' })))
      .withPanel(graph('Throttling', '429 Too Many Requests answers per second. The M365GraphThrottlingSustained alert fires when this stays above its threshold.', 'reqps',
        query(`sum by (tenant) (rate(m365_exporter_graph_throttled_total{${TENANT}}[$__rate_interval]))`, { legend: '{{tenant}}' })))
      .withPanel(graph('Request budget left', 'Requests each tenant may still send in the sliding window before the exporter holds back (Graph allows 240/min and 800/h per app and tenant). Each exporter counts its own requests: the two replicas of an HA pair spend the same Graph limit, each about half of it with the default intervals.', 'none',
        query(`m365_exporter_graph_request_budget_remaining{${TENANT}}`, { legend: '{{tenant}} {{api}} per {{window}} ({{instance}})' })))
      .withRow(new dashboard.RowBuilder('Authentication'))
      .withPanel(graph('Token requests', 'Token requests to Microsoft Entra ID by result (cache hits excluded).', 'none',
        query(`sum by (tenant, result) (increase(m365_exporter_token_requests_total{${TENANT}}[$__rate_interval]))`, { legend: '{{tenant}} {{result}}' })))
      .withPanel(
        new table.PanelBuilder()
          .title('Token errors')
          .description('Tenants whose last token request failed, with the AADSTS code (AADSTS7000222: secret expired, AADSTS7000215: wrong secret, AADSTS700016: app not found).')
          .withTarget(query(`m365_exporter_token_error_info{${TENANT}}`, { table: true }))
          .transformations(mergeAndOrganize({ instance: 'Exporter', tenant: 'Tenant', error_code: 'Error code' }, ['Time', 'job', 'Value', '__name__']))
          .overrideByName('Error code', [{ id: 'custom.cellOptions', value: { type: 'color-background' } }, { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }])
          .noValue('No token errors')
          .height(8)
          .span(12),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Credential and token expiry')
          .description('Time left until the app credential (certificate notAfter, or clientSecretExpiresAt from the config) expires; with several exporters of a tenant, the one that expires first.')
          .withTarget(query(`min by (tenant, kind) (m365_exporter_credential_expiry_timestamp_seconds{${TENANT}}) - time()`, { table: true, refId: 'credential' }))
          .transformations(mergeAndOrganize({ tenant: 'Tenant', kind: 'Credential', Value: 'Expires in' }))
          .sortBy([sortBy('Expires in', false)])
          .overrideByName('Expires in', [
            { id: 'unit', value: 's' },
            { id: 'decimals', value: 0 },
            { id: 'custom.cellOptions', value: { type: 'color-background' } },
            { id: 'thresholds', value: { mode: 'absolute', steps: [{ value: null, color: 'red' }, { value: 14 * 86_400, color: 'green' }] } },
          ])
          .height(8)
          .span(12),
      )
      .withPanel(graph('Access token lifetime left', 'Seconds until the cached access token of each exporter expires; MSAL renews it before.', 's',
        query(`m365_exporter_token_expiry_timestamp_seconds{${TENANT}} - time()`, { legend: '{{tenant}} ({{instance}})' })))
      .build(),
};

export default definition;
