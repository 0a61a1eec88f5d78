/**
 * Every metric the exporter exposes, in one place. /metrics, /probe and the OTLP bridge are all built from this
 * list, and the README table documents it. Names are a contract: dashboards and alerts depend on them.
 */
import { ERROR_REASONS } from './errors.js';

/** Why a bucket of a Monitoring API answer is refused: it starts outside the requested window, off the requested interval's grid, or twice. */
export const BUCKET_REFUSALS = ['outside_window', 'misaligned', 'duplicate'] as const;

export type MetricType = 'gauge' | 'counter' | 'histogram';

export interface MetricDefinition {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  readonly buckets?: readonly number[];
}

const CACHED = ' Served from the cache of the last successful refresh.';

function cached(name: string, help: string, labels: readonly string[]): MetricDefinition {
  return { name, help: help + CACHED, type: 'gauge', labels };
}

function counter(name: string, help: string, labels: readonly string[]): MetricDefinition {
  return { name, help, type: 'counter', labels };
}

export const METRICS = {
  // Service health (healthOverviews): the successor of the legacy Services and CurrentStatus operations.
  serviceInfo: cached('m365_service_info', 'Microsoft 365 service of the tenant (value 1); service_name is its display name.', ['tenant', 'service_id', 'service_name']),
  serviceStatus: cached('m365_service_status', 'State set of the service health status: 1 for the current serviceHealthStatus value, 0 for every other known value.', ['tenant', 'service_id', 'status']),
  serviceOperational: cached('m365_service_operational', 'Whether the service status means it works (1) or not (0); unknown statuses count as not operational.', ['tenant', 'service_id']),
  // Issues: the successor of CurrentStatus incidents, HistoricalStatus and Messages (incidents/advisories).
  issuesOpen: cached('m365_service_issues_open', 'Open (not resolved) service health issues by classification.', ['tenant', 'service_id', 'classification']),
  issueInfo: cached('m365_service_issue_info', 'Open service health issue, or one resolved within the retention window (value 1).', ['tenant', 'service_id', 'issue_id', 'classification', 'status', 'origin', 'feature_group', 'feature', 'title', 'resolved']),
  issueStart: cached('m365_service_issue_start_timestamp_seconds', 'When the issue started (Unix time).', ['tenant', 'issue_id']),
  issueLastUpdate: cached('m365_service_issue_last_update_timestamp_seconds', 'When the issue was last modified (Unix time).', ['tenant', 'issue_id']),
  featureGroupStatus: cached('m365_service_feature_group_status', 'Worst status among the open issues of a feature group (value 1).', ['tenant', 'service_id', 'feature_group', 'status']),
  issuesObserved: counter('m365_service_issues_observed_total', 'Distinct issues that appeared after the exporter\'s first successful refresh.', ['tenant', 'service_id', 'classification']),
  statusChanges: counter('m365_service_status_changes_total', 'Changes of the service health status seen between refreshes.', ['tenant', 'service_id']),
  // Message center: the successor of the legacy Messages operation (MessageCenter type).
  messages: cached('m365_message_center_messages', 'Active message center posts (not past their end date).', ['tenant', 'category', 'severity', 'major_change']),
  messageActionRequiredBy: cached('m365_message_center_action_required_by_timestamp_seconds', 'Deadline of an active message center post whose action date is in the future (Unix time).', ['tenant', 'message_id', 'title']),
  // Monitoring API (Graph beta reports/serviceActivity): near-real-time telemetry in time buckets.
  serviceActivityEvents: counter('m365_service_activity_events_total', 'Events counted by a Monitoring API event function (sign-ins, messages, meetings joined), each final bucket added once after it settled, since the exporter\'s first read.', ['tenant', 'workload', 'metric']),
  serviceActivityBucketEvents: cached('m365_service_activity_bucket_events', 'Events in the latest final bucket of a Monitoring API event function (per aggregation interval).', ['tenant', 'workload', 'metric']),
  serviceActivityDistinct: cached('m365_service_activity_distinct', 'Distinct users, apps or devices (entity) active in the latest final bucket of a Monitoring API function; buckets do not add up.', ['tenant', 'workload', 'metric', 'entity']),
  serviceActivityLevel: cached('m365_service_activity_level', 'Level measured in the latest final bucket of a Monitoring API function (remote-network branches connected).', ['tenant', 'workload', 'metric']),
  serviceActivityRatio: cached('m365_service_activity_ratio', 'Latest final bucket of a Monitoring API percentage function, as a ratio 0-1.', ['tenant', 'workload', 'metric']),
  serviceActivityBucketsRefused: counter('m365_service_activity_buckets_refused_total', `Buckets of a Monitoring API answer refused by reason (${BUCKET_REFUSALS.join(', ')}): they are not what was asked for, so they are neither counted nor shown.`, ['tenant', 'workload', 'reason']),
  serviceActivityBucketStart: cached('m365_service_activity_bucket_start_timestamp_seconds', 'Start of the latest final bucket of a Monitoring API function (Unix time).', ['tenant', 'workload', 'metric']),
  serviceActivityEnabled: cached('m365_service_activity_enabled', 'Whether the Monitoring API function is read (1) or disabled for the tenant (0) after Graph refused it (403), does not offer it (404, 501) or does not know it (400).', ['tenant', 'workload', 'metric']),
  // History (src/history/): computed from the stored issues and observed statuses.
  serviceAvailability: cached('m365_service_availability_ratio', 'Share of the window (7d, 30d, ending now) in which the service had no incident and no observed serviceDegradation or serviceInterruption status; advisories and false positives do not count.', ['tenant', 'service_id', 'window']),
  // The exporter itself.
  collectorSuccess: cached('m365_exporter_collector_success', 'Whether the last refresh of the collector succeeded (1) or failed (0); on failure the last good data stays exported.', ['tenant', 'collector']),
  collectorDuration: cached('m365_exporter_collector_duration_seconds', 'Duration of the last refresh of the collector.', ['tenant', 'collector']),
  collectorLastSuccess: cached('m365_exporter_collector_last_success_timestamp_seconds', 'When the collector last refreshed successfully (Unix time).', ['tenant', 'collector']),
  collectorRefreshInterval: cached('m365_exporter_collector_refresh_interval_seconds', 'Configured refresh interval of the collector, so staleness can be judged in intervals.', ['tenant', 'collector']),
  collectorErrors: counter('m365_exporter_collector_errors_total', `Failed refreshes by reason (${ERROR_REASONS.join(', ')}).`, ['tenant', 'collector', 'reason']),
  graphRequests: counter('m365_exporter_graph_requests_total', 'HTTP requests to Microsoft Graph by endpoint and status code (timeout and network for requests without an answer).', ['tenant', 'endpoint', 'code']),
  graphRequestDuration: {
    name: 'm365_exporter_graph_request_duration_seconds', help: 'Duration of HTTP requests to Microsoft Graph.', type: 'histogram',
    labels: ['tenant', 'endpoint'], buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  },
  graphThrottled: counter('m365_exporter_graph_throttled_total', 'Responses 429 Too Many Requests from Microsoft Graph.', ['tenant']),
  requestBudgetRemaining: cached('m365_exporter_graph_request_budget_remaining', 'Requests the tenant may still send in the sliding window: api="serviceCommunications" (Graph allows 240/1m and 800/1h) or api="serviceActivity" (serviceActivity.requestsPerMinute).', ['tenant', 'api', 'window']),
  tokenRequests: counter('m365_exporter_token_requests_total', 'Token requests sent to Microsoft Entra ID (cache hits excluded) by result: success, failure (Entra ID refused), error (no usable answer: network, timeout, redirect, too large).', ['tenant', 'result']),
  tokenError: cached('m365_exporter_token_error_info', 'Entra ID refused the last token request it answered with this AADSTS error code (value 1); absent while tokens are granted. Requests without an answer leave it unchanged.', ['tenant', 'error_code']),
  tokenExpiry: cached('m365_exporter_token_expiry_timestamp_seconds', 'When the current access token expires (Unix time).', ['tenant']),
  credentialExpiry: cached('m365_exporter_credential_expiry_timestamp_seconds', 'When the app credential expires (Unix time): the certificate\'s notAfter, or clientSecretExpiresAt from the config.', ['tenant', 'kind']),
} as const satisfies Record<string, MetricDefinition>;

/**
 * Exporter-wide: which part of the fleet this replica exports (src/config/sharding.ts), as kube-state-metrics has
 * kube_state_metrics_shard_ordinal and kube_state_metrics_total_shards; shard 0 of 1 when not sharded.
 */
export const SHARD_INFO: MetricDefinition = {
  name: 'm365_exporter_shard_info', help: 'The shard of the fleet this replica exports (value 1): the tenants whose name hashes to shard of total_shards; shard 0 of 1 when not sharded.', type: 'gauge', labels: ['shard', 'total_shards'],
};

export const BUILD_INFO: MetricDefinition = {
  name: 'm365_exporter_build_info', help: 'Version of the exporter (value 1).', type: 'gauge', labels: ['version', 'nodejs_version'],
};

/** Exporter-wide, as blackbox_exporter reports its reloads: the start counts as the first successful load. */
export const CONFIG_RELOAD_SUCCESSFUL: MetricDefinition = {
  name: 'm365_exporter_config_last_reload_successful', help: 'Whether the last configuration reload (SIGHUP or POST /-/reload) succeeded (1) or failed and the previous configuration stays (0).', type: 'gauge', labels: [],
};
export const CONFIG_RELOAD_SUCCESS_TIMESTAMP: MetricDefinition = {
  name: 'm365_exporter_config_last_reload_success_timestamp_seconds', help: 'When the configuration was last loaded successfully, at start or by a reload (Unix time).', type: 'gauge', labels: [],
};

/** Exporter-wide: present with samples only when `otlp:` is configured. */
export const OTLP_EXPORTS: MetricDefinition = counter('m365_exporter_otlp_exports_total',
  'OTLP metric exports by result (success, failure); a failure is counted once per export, after the OTLP exporter\'s own retries.', ['result']);

/** Exporter-wide: the embedded store (src/history/store.ts). */
export const STORAGE_HEALTHY: MetricDefinition = {
  name: 'm365_exporter_storage_healthy', help: 'Whether the last load or write of the history store succeeded (1) or failed (0); while 0 the exporter runs on from memory.', type: 'gauge', labels: [],
};
export const STORAGE_WRITE_ERRORS: MetricDefinition = counter('m365_exporter_storage_write_errors_total',
  'Failed writes of the history store file (each write is the whole database, written to a temporary file and renamed).', []);
export const STORAGE_SIZE: MetricDefinition = {
  name: 'm365_exporter_storage_size_bytes', help: 'Size of the history store as last written.', type: 'gauge', labels: [],
};
