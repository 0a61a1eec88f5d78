/**
 * Monitoring API telemetry (serviceActivity): per workload the event rates, the latest buckets, this week against
 * the same time last week; the percentage functions against the baseline the alerts use; freshness and the
 * functions Graph refuses.
 */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { TENANT, attentionStat, baseDashboard, labelValuesVariable, mergeAndOrganize, query, sortBy, type DashboardDefinition } from '../lib.js';

/** Tenant and workload filter of every query. */
const SEL = `${TENANT}, workload=~"$workload"`;

/**
 * Window of the event rates. The counter grows in whole buckets when they settle (every aggregation interval, 5
 * minutes by default), so a window of several buckets gives a steady rate where $__rate_interval would saw-tooth.
 */
const RATE_WINDOW = '30m';

/** Whether the exporter reads each function (1) or Graph refused it (0), once per tenant and function. */
const ENABLED = `max by (tenant, workload, metric) (m365_service_activity_enabled{${SEL}})`;

/** The latest-bucket gauges of the functions that count (events, distinct users/apps/devices, levels). */
const COUNTS = `{__name__=~"m365_service_activity_(bucket_events|distinct|level)", ${SEL}}`;

const EXCHANGE_CONNECTIVITY = 'get_connectivity_metrics_for_exchange';
const TEAMS_AUDIO = 'get_audio_stream_qoe_metrics_for_teams|get_audio_streams_over_udp_metrics_for_teams';

function workloadVariable(): dashboard.QueryVariableBuilder {
  return labelValuesVariable('workload', 'Workload', `label_values(m365_service_activity_enabled{${TENANT}}, workload)`)
    .description('exchange, teams, m365_apps (Microsoft 365 web apps), onedrive, entra, global_secure_access, agent_id: the workloads the selected tenants read');
}

function graph(title: string, description: string, unit: string, ...targets: ReturnType<typeof query>[]): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder().title(title).description(description).unit(unit).height(8).span(12);
  for (const target of targets) panel.withTarget(target);
  return panel;
}

/** Two series per function in one query: this week, and last week where Prometheus has it (a `week` label tells them apart). */
function thisAndLastWeek(expr: string, by: string): string {
  return `label_replace(max by (${by}) (${expr}), "week", "this week", "", "")`
    + ` or label_replace(max by (${by}) (${expr} offset 1w), "week", "last week", "", "")`;
}

/** Dashed lines for the series a query labels `week="last week"` or `series="baseline"`. */
const DASHED: dashboard.DynamicConfigValue[] = [{ id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } }];

const READ_DISABLED: dashboard.ValueMapping[] = [{
  type: dashboard.MappingType.ValueToText,
  options: { '1': { text: 'read', color: 'green', index: 0 }, '0': { text: 'DISABLED', color: 'red', index: 1 } },
}];

const definition: DashboardDefinition = {
  file: 'm365-service-activity.json',
  build: () =>
    baseDashboard('m365-service-activity', 'Microsoft 365 / Service activity (Monitoring API)',
      'Near-real-time telemetry of the Microsoft 365 Monitoring API (serviceActivity): events per workload and function, percentages, comparison with last week, freshness, disabled functions.',
      'm365_service_activity_enabled')
      .withVariable(workloadVariable())
      .withRow(new dashboard.RowBuilder('Overview'))
      .withPanel(
        attentionStat('Functions disabled per tenant',
          'Monitoring API functions the exporter stopped reading because Graph refused them (403 permission not granted, 404/501 not offered, 400 a function or API this Graph does not know); it retries every serviceActivity.recheckDisabled. Alert: M365ServiceActivityFunctionDisabled.',
          query(`sum by (tenant) (1 - ${ENABLED})`, { legend: '{{tenant}}' }).instant(), 'orange')
          .height(6)
          .span(6),
      )
      .withPanel(
        new table.PanelBuilder()
          .title('Disabled functions')
          .description('Which functions are disabled (m365_service_activity_enabled == 0). The exporter log names the cause; for a 403 grant the permission of the workload (README, Monitoring API telemetry).')
          .withTarget(query(`${ENABLED} == 0`, { table: true }))
          .transformations(mergeAndOrganize({ tenant: 'Tenant', workload: 'Workload', metric: 'Function' }, ['Time', 'job', 'instance', 'Value', '__name__']))
          .noValue('Every selected function is read')
          .height(6)
          .span(18),
      )
      .withPanel(graph('Freshness: age of the newest bucket', 'Seconds since the start of the newest final bucket of each workload (the freshest of its functions). Normal: settleDelay + one aggregation interval + up to one refresh, about 40 minutes with the defaults. Alert: M365ServiceActivityStale.', 's',
        query(`min by (tenant, workload) (time() - m365_service_activity_bucket_start_timestamp_seconds{${SEL}})`, { legend: '{{tenant}} {{workload}}' }))
        .min(0))
      .withPanel(graph('Buckets refused', 'Buckets of Monitoring API answers the exporter refused in the last hour, by reason: outside the requested window (a replayed or cached answer), off the interval grid (another width), or twice. Normally 0; the exporter log names the function.', 'none',
        query(`max by (tenant, workload, reason) (increase(m365_service_activity_buckets_refused_total{${SEL}}[1h]))`, { legend: '{{tenant}} {{workload}} {{reason}}' }))
        .min(0))
      .withPanel(
        new table.PanelBuilder()
          .title('Count functions against the same time last week')
          .description('30-minute average of each counting function (events, distinct users/apps/devices, levels) as a share of the same 30 minutes one week earlier (m365:service_activity_value:ratio_to_last_week), lowest first. Empty until Prometheus holds a week of history. Alerts: M365MfaSignInSuccessDrop, M365ServiceActivityCountDrop.')
          .withTarget(query(`m365:service_activity_value:ratio_to_last_week{${SEL}}`, { table: true, refId: 'ratio' }))
          .withTarget(query(`m365:service_activity_value:avg30m_last_week{${SEL}}`, { table: true, refId: 'lastweek' }))
          .transformations(mergeAndOrganize({ tenant: 'Tenant', workload: 'Workload', metric: 'Function', 'Value #ratio': 'vs last week', 'Value #lastweek': 'Last week per bucket' }))
          .sortBy([sortBy('vs last week', false)])
          .overrideByName('vs last week', [
            { id: 'unit', value: 'percentunit' },
            { id: 'custom.cellOptions', value: { type: 'color-background' } },
            { id: 'thresholds', value: { mode: 'absolute', steps: [{ value: null, color: 'red' }, { value: 0.5, color: 'orange' }, { value: 0.8, color: 'green' }] } },
          ])
          .overrideByName('Last week per bucket', [{ id: 'decimals', value: 0 }])
          .noValue('Needs a week of history in Prometheus')
          .height(8)
          .span(12),
      )
      .withRow(new dashboard.RowBuilder('Quality (percentage functions)'))
      .withPanel(graph('Exchange Online connectivity', 'Share of successful Exchange Online connections (getConnectivityMetricsForExchange) per latest bucket, and the baseline the M365ExchangeConnectivityDrop alert compares with (same hour last week, else the 6 hours before the last hour; dashed).', 'percentunit',
        query(`label_replace(max by (tenant) (m365_service_activity_ratio{${SEL}, metric="${EXCHANGE_CONNECTIVITY}"}), "series", "current", "", "")`
          + ` or label_replace(max by (tenant) (m365:service_activity_ratio:baseline{${SEL}, metric="${EXCHANGE_CONNECTIVITY}"}), "series", "baseline", "", "")`, { legend: '{{tenant}} {{series}}' }))
        .max(1)
        .overrideByRegexp('.* baseline$', DASHED))
      .withPanel(graph('Teams audio quality', 'Share of Teams audio streams with good quality (QoE) and over UDP per latest bucket, and their baselines (dashed). Alert: M365TeamsAudioQualityDrop.', 'percentunit',
        query(`label_replace(max by (tenant, metric) (m365_service_activity_ratio{${SEL}, metric=~"${TEAMS_AUDIO}"}), "series", "current", "", "")`
          + ` or label_replace(max by (tenant, metric) (m365:service_activity_ratio:baseline{${SEL}, metric=~"${TEAMS_AUDIO}"}), "series", "baseline", "", "")`, { legend: '{{tenant}} {{metric}} {{series}}' }))
        .max(1)
        .overrideByRegexp('.* baseline$', DASHED))
      .withRow(
        new dashboard.RowBuilder('Workload: $workload')
          .repeat('workload'),
      )
      .withPanel(graph('Events per minute', `Events per minute of each event function (sign-ins, messages, meetings joined): rate of m365_service_activity_events_total over ${RATE_WINDOW}. The counter adds each bucket once, when it has settled (serviceActivity.settleDelay after its end), so the curve runs that much behind real time.`, 'cpm',
        query(`60 * max by (tenant, metric) (rate(m365_service_activity_events_total{${SEL}}[${RATE_WINDOW}]))`, { legend: '{{tenant}} {{metric}}' }))
        .min(0))
      .withPanel(graph('Active users, apps and devices', 'Distinct users, apps or devices active in the latest final bucket (m365_service_activity_distinct): a gauge, since the same user is active in many buckets.', 'none',
        query(`max by (tenant, metric, entity) (m365_service_activity_distinct{${SEL}})`, { legend: '{{tenant}} {{metric}} ({{entity}})' }))
        .min(0))
      .withPanel(graph('This week against last week', 'Latest final bucket of each counting function (events, distinct users/apps/devices, levels such as branches connected), with the same time one week earlier (dashed) where Prometheus has it.', 'none',
        query(thisAndLastWeek(COUNTS, 'tenant, metric'), { legend: '{{tenant}} {{metric}} · {{week}}' }))
        .min(0)
        .overrideByRegexp('.* last week$', DASHED))
      .withPanel(
        new table.PanelBuilder()
          .title('Latest buckets')
          .description('Per function: the latest final bucket (events, distinct users/apps/devices or a level; or a percentage), when it started, and whether the exporter reads the function.')
          .withTarget(query(`max by (tenant, workload, metric) (${COUNTS})`, { table: true, refId: 'value' }))
          .withTarget(query(`max by (tenant, workload, metric) (m365_service_activity_ratio{${SEL}})`, { table: true, refId: 'ratio' }))
          .withTarget(query(`time() - max by (tenant, workload, metric) (m365_service_activity_bucket_start_timestamp_seconds{${SEL}})`, { table: true, refId: 'age' }))
          .withTarget(query(ENABLED, { table: true, refId: 'enabled' }))
          .transformations(mergeAndOrganize(
            { tenant: 'Tenant', workload: 'Workload', metric: 'Function', 'Value #value': 'Count', 'Value #ratio': 'Percentage', 'Value #age': 'Bucket age', 'Value #enabled': 'Read' },
            ['Time', 'job', 'instance', '__name__'],
          ))
          .sortBy([sortBy('Function', false)])
          .overrideByName('Count', [{ id: 'decimals', value: 0 }])
          .overrideByName('Percentage', [{ id: 'unit', value: 'percentunit' }, { id: 'decimals', value: 2 }])
          .overrideByName('Bucket age', [{ id: 'unit', value: 's' }, { id: 'decimals', value: 0 }])
          .overrideByName('Read', [{ id: 'mappings', value: READ_DISABLED }, { id: 'custom.cellOptions', value: { type: 'color-background' } }])
          .height(10)
          .span(24),
      )
      .build(),
};

export default definition;
