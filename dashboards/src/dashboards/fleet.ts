/** MSP fleet view: every tenant × service on one page, worst first, and the tenants the exporter cannot see. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as table from '@grafana/grafana-foundation-sdk/table';
import {
  TENANT, baseDashboard, mergeAndOrganize, one, query, sortBy, statusMappings, type DashboardDefinition,
} from '../lib.js';

/** Puts the current status label (state set) on a per-service series, so every table row shows it, once. */
const withStatus = (expr: string): string =>
  `max by (tenant, service_id, status) (${expr} * on (tenant, service_id) group_left (status) ${one('tenant, service_id', `m365_service_status{${TENANT}} == 1`)})`;
/** Whether each service works, once however many exporters export it. */
const OPERATIONAL = `max by (tenant, service_id) (m365_service_operational{${TENANT}})`;

const OK_FAILING: dashboard.ValueMapping[] = [{
  type: dashboard.MappingType.ValueToText,
  options: { '1': { text: 'OK', color: 'green', index: 0 }, '0': { text: 'FAILING', color: 'red', index: 1 } },
}];

const YES_NO: dashboard.ValueMapping[] = [{
  type: dashboard.MappingType.ValueToText,
  options: { '1': { text: 'yes', color: 'green', index: 0 }, '0': { text: 'no', color: 'red', index: 1 } },
}];

const definition: DashboardDefinition = {
  file: 'm365-fleet.json',
  build: () =>
    baseDashboard('m365-fleet', 'Microsoft 365 / MSP fleet', 'Every tenant and service on one page, worst first; tenants whose collectors fail.')
      .withRow(new dashboard.RowBuilder('Tenants'))
      .withPanel(
        new bargauge.PanelBuilder()
          .title('Services not operational per tenant')
          .description('Number of services per tenant whose status does not mean "works".')
          .withTarget(query(`sort_desc(count by (tenant) (${OPERATIONAL} == 0) or (0 * count by (tenant) (${OPERATIONAL})))`, { legend: '{{tenant}}', table: false }).instant())
          .unit('none')
          .decimals(0)
          .min(0)
          .displayMode(common.BarGaugeDisplayMode.Basic)
          .orientation(common.VizOrientation.Horizontal)
          .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
            { value: null, color: 'green' },
            { value: 1, color: 'orange' },
          ]))
          .height(8)
          .span(12),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Tenant collectors')
          .description('Per tenant: whether every collector (of every exporter of the tenant) succeeded at its last refresh, the age of the oldest successful refresh, and the failed refreshes of the exporter with the most. Failing tenants first.')
          .withTarget(query(`min by (tenant) (m365_exporter_collector_success{${TENANT}})`, { table: true, refId: 'success' }))
          .withTarget(query(`max by (tenant) (time() - m365_exporter_collector_last_success_timestamp_seconds{${TENANT}})`, { table: true, refId: 'age' }))
          .withTarget(query(`max by (tenant) (sum without (collector, reason) (increase(m365_exporter_collector_errors_total{${TENANT}}[1h]))) or (0 * min by (tenant) (m365_exporter_collector_success{${TENANT}}))`, { table: true, refId: 'errors' }))
          .transformations(mergeAndOrganize({ tenant: 'Tenant', 'Value #success': 'All collectors OK', 'Value #age': 'Oldest data', 'Value #errors': 'Failed refreshes (1h)' }))
          .sortBy([sortBy('All collectors OK', false)])
          .overrideByName('All collectors OK', [{ id: 'mappings', value: OK_FAILING }, { id: 'custom.cellOptions', value: { type: 'color-background' } }])
          .overrideByName('Oldest data', [{ id: 'unit', value: 's' }, { id: 'decimals', value: 0 }])
          .overrideByName('Failed refreshes (1h)', [{ id: 'unit', value: 'none' }, { id: 'decimals', value: 0 }])
          .height(8)
          .span(12),
      )
      .withRow(new dashboard.RowBuilder('Services'))
      .withPanel(
        new table.PanelBuilder()
          .title('Every tenant × service, worst first')
          .description('Services that do not work come first, then by open incidents and advisories. Status colours follow the state set m365_service_status.')
          .withTarget(query(withStatus(`m365_service_operational{${TENANT}}`), { table: true, refId: 'operational' }))
          .withTarget(query(withStatus(`m365_service_issues_open{${TENANT}, classification="incident"}`), { table: true, refId: 'incidents' }))
          .withTarget(query(withStatus(`m365_service_issues_open{${TENANT}, classification="advisory"}`), { table: true, refId: 'advisories' }))
          .transformations(mergeAndOrganize({
            tenant: 'Tenant', service_id: 'Service', status: 'Status',
            'Value #operational': 'Operational', 'Value #incidents': 'Open incidents', 'Value #advisories': 'Open advisories',
          }))
          .sortBy([sortBy('Operational', false), sortBy('Open incidents', true), sortBy('Open advisories', true)])
          .overrideByName('Status', [{ id: 'mappings', value: statusMappings() }, { id: 'custom.cellOptions', value: { type: 'color-background' } }])
          .overrideByName('Operational', [{ id: 'mappings', value: YES_NO }, { id: 'custom.cellOptions', value: { type: 'color-text' } }])
          .overrideByName('Open incidents', [{ id: 'decimals', value: 0 }, { id: 'custom.cellOptions', value: { type: 'color-text' } },
            { id: 'thresholds', value: { mode: 'absolute', steps: [{ value: null, color: 'text' }, { value: 1, color: 'red' }] } }])
          .overrideByName('Open advisories', [{ id: 'decimals', value: 0 }])
          .height(20)
          .span(24),
      )
      .build(),
};

export default definition;
