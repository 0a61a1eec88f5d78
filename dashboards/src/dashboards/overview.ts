/** Microsoft 365 service health overview: what works, what is broken, what needs action. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  TENANT, attentionStat, baseDashboard, currentStatusExpr, issueLink, mergeAndOrganize, messageLink, one, query, sortBy, statusMappings, statusOverrides,
  lastValue, type DashboardDefinition,
} from '../lib.js';

const ISSUE_LABELS = 'service_id, classification, status, feature_group, title';
/** Joins an issue-level series (tenant, issue_id) with the labels of its open issue; one row per issue. */
const openIssue = (expr: string): string =>
  `max by (tenant, issue_id, ${ISSUE_LABELS}) (${expr} * on (tenant, issue_id) group_left (${ISSUE_LABELS}) ${one('tenant, issue_id', `m365_service_issue_info{${TENANT}, resolved="false"}`)})`;
/** The deadline of each post needing action, once. */
const ACTION_REQUIRED_BY = `max by (tenant, message_id, title) (m365_message_center_action_required_by_timestamp_seconds{${TENANT}})`;

function countStat(title: string, classification: string, color: string): stat.PanelBuilder {
  return attentionStat(title, `Open (not resolved) ${classification} issues across the selected tenants.`,
    query(`sum(max by (tenant, service_id, classification) (m365_service_issues_open{${TENANT}, classification="${classification}"}))`, { table: true }), color)
    .height(4)
    .span(6);
}

const definition: DashboardDefinition = {
  file: 'm365-overview.json',
  build: () =>
    baseDashboard('m365-overview', 'Microsoft 365 / Service health overview', 'Status of every Microsoft 365 service, open incidents and advisories, message center actions.')
      .withRow(new dashboard.RowBuilder('Now'))
      .withPanel(countStat('Open incidents', 'incident', 'red'))
      .withPanel(countStat('Open advisories', 'advisory', 'yellow'))
      .withPanel(
        attentionStat('Services not operational',
          'Services whose current status does not mean "works" (anything but serviceOperational, serviceRestored, falsePositive, PIR published, resolved/mitigated).',
          query(`count(max by (tenant, service_id) (m365_service_operational{${TENANT}}) == 0) or vector(0)`, { table: true }), 'orange')
          .height(4)
          .span(6),
      )
      .withPanel(
        attentionStat('Message center posts needing action', 'Active posts with an action-required date in the future.',
          query(`count(${ACTION_REQUIRED_BY}) or vector(0)`, { table: true }), 'blue')
          .height(4)
          .span(6),
      )
      .withPanel(
        new stat.PanelBuilder()
          .title('Status of every service ($tenant)')
          .description('One tile per service, coloured by its current status (state set m365_service_status == 1). Repeated per selected tenant.')
          .repeat('tenant')
          .repeatDirection('h')
          .maxPerRow(1)
          .withTarget(query(currentStatusExpr('tenant, service_id, service_name, status'), { table: false, legend: '{{service_name}} · {{status}}' }).instant())
          .textMode(common.BigValueTextMode.Name)
          .colorMode(common.BigValueColorMode.Background)
          .graphMode(common.BigValueGraphMode.None)
          .reduceOptions(lastValue())
          .orientation(common.VizOrientation.Horizontal)
          .overrides(statusOverrides())
          .height(10)
          .span(24),
      )
      .withRow(new dashboard.RowBuilder('Open issues'))
      .withPanel(
        new table.PanelBuilder()
          .title('Open issues')
          .description('Open incidents and advisories. Click an issue id to open it in the Microsoft 365 admin center.')
          .withTarget(query(openIssue(`m365_service_issue_start_timestamp_seconds{${TENANT}} * 1000`), { table: true, refId: 'started' }))
          .withTarget(query(openIssue(`m365_service_issue_last_update_timestamp_seconds{${TENANT}} * 1000`), { table: true, refId: 'updated' }))
          .withTarget(query(openIssue(`(time() - m365_service_issue_start_timestamp_seconds{${TENANT}})`), { table: true, refId: 'age' }))
          .transformations(mergeAndOrganize({
            tenant: 'Tenant', issue_id: 'Issue', service_id: 'Service', classification: 'Classification', status: 'Status',
            feature_group: 'Feature group', title: 'Title', 'Value #started': 'Started', 'Value #updated': 'Last update', 'Value #age': 'Age',
          }))
          .sortBy([sortBy('Started', true)])
          .overrideByName('Issue', [issueLink()])
          .overrideByName('Status', [{ id: 'mappings', value: statusMappings() }, { id: 'custom.cellOptions', value: { type: 'color-text' } }])
          .overrideByName('Started', [{ id: 'unit', value: 'dateTimeAsIso' }])
          .overrideByName('Last update', [{ id: 'unit', value: 'dateTimeFromNow' }])
          .overrideByName('Age', [{ id: 'unit', value: 's' }, { id: 'decimals', value: 0 }])
          .height(9)
          .span(24),
      )
      .withPanel(
        new statetimeline.PanelBuilder()
          .title('Status history')
          .description('Status of each service that was not operational at some point in the range (state set, coloured by status).')
          .withTarget(query(
            `${currentStatusExpr('tenant, service_id, service_name, status')} and on (tenant, service_id) (max_over_time(m365_service_operational{${TENANT}}[$__range]) == 0 or min_over_time(m365_service_operational{${TENANT}}[$__range]) == 0)`,
            { legend: '{{tenant}} {{service_name}} · {{status}}' },
          ))
          .showValue(common.VisibilityMode.Never)
          .mergeValues(true)
          .overrides(statusOverrides())
          .height(8)
          .span(24),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Availability')
          .description('Share of the last 7 and 30 days without an incident or an observed degradation or interruption (advisories and false positives excluded), least available first. From the exporter\'s history store; see README "Availability".')
          .withTarget(query(`max by (tenant, service_id) (m365_service_availability_ratio{${TENANT}, window="7d"})`, { table: true, refId: 'week' }))
          .withTarget(query(`max by (tenant, service_id) (m365_service_availability_ratio{${TENANT}, window="30d"})`, { table: true, refId: 'month' }))
          .transformations(mergeAndOrganize({ tenant: 'Tenant', service_id: 'Service', 'Value #week': '7 days', 'Value #month': '30 days' }, ['Time', 'job', 'instance', 'window']))
          .sortBy([sortBy('30 days', false)])
          .overrideByName('7 days', [{ id: 'unit', value: 'percentunit' }, { id: 'decimals', value: 3 }])
          .overrideByName('30 days', [{ id: 'unit', value: 'percentunit' }, { id: 'decimals', value: 3 }])
          .height(8)
          .span(24),
      )
      .withRow(new dashboard.RowBuilder('Message center'))
      .withPanel(
        new table.PanelBuilder()
          .title('Message center posts needing action')
          .description('Posts with an action-required date in the future, soonest first. Click the id to open the post.')
          .withTarget(query(`${ACTION_REQUIRED_BY} * 1000`, { table: true, refId: 'due' }))
          .withTarget(query(`${ACTION_REQUIRED_BY} - time()`, { table: true, refId: 'left' }))
          .transformations(mergeAndOrganize({ tenant: 'Tenant', message_id: 'Message', title: 'Title', 'Value #due': 'Action required by', 'Value #left': 'Time left' }))
          .sortBy([sortBy('Time left', false)])
          .overrideByName('Message', [messageLink()])
          .overrideByName('Action required by', [{ id: 'unit', value: 'dateTimeAsIso' }])
          .overrideByName('Time left', [
            { id: 'unit', value: 's' },
            { id: 'decimals', value: 0 },
            { id: 'custom.cellOptions', value: { type: 'color-text' } },
            { id: 'thresholds', value: { mode: 'absolute', steps: [{ value: null, color: 'red' }, { value: 7 * 86_400, color: 'green' }] } },
          ])
          .height(8)
          .span(24),
      )
      .build(),
};

export default definition;
