/**
 * Shared pieces of every dashboard: the datasource and tenant variables, label selectors, status colours and
 * Microsoft 365 admin center links. The job selector comes from alerts/src/config.ts, the one place the rules read it
 * from too.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import { SERVICE_HEALTH_STATUSES, isOperational } from '../../src/graph/enums.js';
import { MONITORING } from '../../alerts/src/config.js';

/** A dashboard the generator writes to `dashboards/<file>`. Each file in `dashboards/src/dashboards/` default-exports one. */
export interface DashboardDefinition {
  /** Output file name, e.g. `m365-overview.json`. */
  file: string;
  build(): dashboard.Dashboard;
}

/** Every panel queries the datasource chosen in the `datasource` variable; no datasource uid is hard-coded. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** The scrape job of the exporter, as the alert rules select it. */
export const JOB = MONITORING.jobSelector;
/** Every M365 metric is filtered by the tenant variable (multi-select, "All" = `.*`). */
export const TENANT = 'tenant=~"$tenant"';

/*
 * Several exporters may export the same tenant (the replicas of an HA pair), so Prometheus may hold a series twice,
 * differing in `instance` only. Tenant dashboards read data through `max by (<the series' own labels>)` before they
 * count, sum or list it, and join on a side made unique per join key (`one`), so two copies neither double a number
 * nor break a join; the exporter dashboard shows each exporter (instance) on its own. test/alerts/ha-pair.test.ts
 * holds every query to that.
 */

/** One series per value of `by` (the first of several copies): the unique side of a `group_left` join. */
export function one(by: string, expr: string): string {
  return `topk by (${by}) (1, ${expr})`;
}

export const ADMIN_CENTER_ISSUE_URL = 'https://admin.microsoft.com/Adminportal/Home#/servicehealth/:/alerts/';
export const ADMIN_CENTER_MESSAGE_URL = 'https://admin.microsoft.com/Adminportal/Home#/MessageCenter/:/messages/';

export function datasourceVariable(): dashboard.DatasourceVariableBuilder {
  return new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus');
}

/** A multi-select variable listing the label values a PromQL `label_values(...)` query returns, "All" by default. */
export function labelValuesVariable(name: string, label: string, definition: string): dashboard.QueryVariableBuilder {
  return new dashboard.QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ qryType: 1, query: definition, refId: 'PrometheusVariableQueryEditor-VariableQuery' })
    .definition(definition)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalCaseInsensitiveAsc)
    .multi(true)
    .includeAll(true)
    .allValue('.*')
    .current({ selected: true, text: ['All'], value: ['$__all'] });
}

/** Tenant variable: the tenants that have `source` (default: every tenant with service health). */
export function tenantVariable(source = 'm365_service_info'): dashboard.QueryVariableBuilder {
  return labelValuesVariable('tenant', 'Tenant', `label_values(${source}, tenant)`);
}

/**
 * A standard dashboard: datasource and tenant variables, tags, a link to the sibling dashboards. `tenantSource` is
 * the metric the tenant variable lists tenants from.
 */
export function baseDashboard(uid: string, title: string, description: string, tenantSource?: string): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['m365', 'm365-health-exporter'])
    .editable()
    .refresh('1m')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable())
    .withVariable(tenantVariable(tenantSource))
    .link(
      new dashboard.DashboardLinkBuilder('M365 dashboards')
        .type(dashboard.DashboardLinkType.Dashboards)
        .tags(['m365-health-exporter'])
        .asDropdown(true)
        .includeVars(true)
        .keepTime(true),
    )
    .link(
      new dashboard.DashboardLinkBuilder('Microsoft 365 admin center: service health')
        .type(dashboard.DashboardLinkType.Link)
        .url('https://admin.microsoft.com/Adminportal/Home#/servicehealth')
        .targetBlank(true),
    );
}

export interface QueryOptions {
  legend?: string;
  /** Instant table query (tables, stats of current state). */
  table?: boolean;
  refId?: string;
}

export function query(expr: string, options: QueryOptions = {}): prometheus.DataqueryBuilder {
  const builder = new prometheus.DataqueryBuilder().datasource(DATASOURCE).expr(expr).refId(options.refId ?? 'A');
  if (options.legend !== undefined) builder.legendFormat(options.legend);
  if (options.table) builder.format(prometheus.PromQueryFormat.Table).instant();
  return builder;
}

/** Colour of a service health status: green when it counts as operational, otherwise by how bad it is. */
export function statusColor(status: string): string {
  if (isOperational(status)) return 'green';
  if (status === 'serviceInterruption') return 'red';
  if (status === 'serviceDegradation') return 'orange';
  if (['investigating', 'restoringService', 'extendedRecovery', 'verifyingService'].includes(status)) return 'yellow';
  return 'purple'; // reported, confirmed, investigationSuspended and statuses Graph may add later
}

/** Value mappings for a text field holding a status (tables). */
export function statusMappings(): dashboard.ValueMapping[] {
  const options: Record<string, dashboard.ValueMappingResult> = {};
  SERVICE_HEALTH_STATUSES.forEach((status, index) => {
    options[status] = { color: statusColor(status), index };
  });
  return [{ type: dashboard.MappingType.ValueToText, options }];
}

/**
 * Overrides colouring series whose display name ends in ` · <status>`: the state set `m365_service_status == 1`
 * keeps the status as a label, never as a number, so colour follows the label.
 */
export function statusOverrides(): Array<{ matcher: dashboard.MatcherConfig; properties: dashboard.DynamicConfigValue[] }> {
  return SERVICE_HEALTH_STATUSES.map((status) => ({
    matcher: { id: 'byRegexp', options: `.* · ${status}$` },
    properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: statusColor(status) } }],
  }));
}

/** A data link opening the issue in the Microsoft 365 admin center, for a field holding an issue id. */
export function issueLink(): dashboard.DynamicConfigValue {
  return { id: 'links', value: [{ title: 'Open ${__value.raw} in the Microsoft 365 admin center', url: `${ADMIN_CENTER_ISSUE_URL}\${__value.raw}`, targetBlank: true }] };
}

export function messageLink(): dashboard.DynamicConfigValue {
  return { id: 'links', value: [{ title: 'Open ${__value.raw} in the message center', url: `${ADMIN_CENTER_MESSAGE_URL}\${__value.raw}`, targetBlank: true }] };
}

/**
 * Table transformations: merge the instant queries on their labels, then hide, rename and order columns. `job` and
 * `instance` are hidden unless renamed (the exporter dashboard names the exporter of each row).
 */
export function mergeAndOrganize(renameByName: Record<string, string>, exclude: string[] = ['Time', 'job', 'instance']): dashboard.DataTransformerConfig[] {
  const indexByName = Object.fromEntries(Object.keys(renameByName).map((name, index) => [name, index]));
  const hidden = exclude.filter((name) => !(name in renameByName));
  return [
    { id: 'merge', options: {} },
    { id: 'organize', options: { excludeByName: Object.fromEntries(hidden.map((name) => [name, true])), indexByName, renameByName } },
  ];
}

/** Series whose status is current, with the service display name, labelled `<service name> · <status>`. */
export function currentStatusExpr(by: string): string {
  return `max by (${by}) ((m365_service_status{${TENANT}} == 1) * on (tenant, service_id) group_left (service_name) ${one('tenant, service_id', `m365_service_info{${TENANT}}`)})`;
}

export function sortBy(displayName: string, desc: boolean): common.TableSortByFieldStateBuilder {
  return new common.TableSortByFieldStateBuilder().displayName(displayName).desc(desc);
}

/** Stat panels show the last value of each series. */
export function lastValue(): common.ReduceDataOptionsBuilder {
  return new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);
}

/** A big number on a coloured background: green at 0, `color` from 1 on (counts of things that need attention). */
export function attentionStat(title: string, description: string, target: prometheus.DataqueryBuilder, color: string): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(title)
    .description(description)
    .withTarget(target)
    .unit('none')
    .decimals(0)
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None)
    .reduceOptions(lastValue())
    .thresholds(new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
      { value: null, color: 'green' },
      { value: 1, color },
    ]));
}
