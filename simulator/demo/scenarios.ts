/**
 * The scenarios of `npm run demo`: which simulator scenario (simulator/scenarios.ts) each demo tenant plays, the
 * exporter settings that make the effect visible in seconds, and the signals the landing page tells you to look for.
 * contoso is where things happen; fabrikam, a tenant of the same size, is the yardstick unless a scenario moves it too.
 */
import { series, type Signal } from './signals.js';

export const DEMO_TENANTS = [
  { name: 'contoso', tenantId: '5e1f0000-0000-4000-8000-000000000001', clientId: 'c11e0000-0000-4000-8000-000000000001' },
  { name: 'fabrikam', tenantId: '5e1f0000-0000-4000-8000-000000000002', clientId: 'c11e0000-0000-4000-8000-000000000002' },
] as const;
export type DemoTenantName = (typeof DEMO_TENANTS)[number]['name'];
/** Licensed users of each demo tenant: the same, so their Monitoring API counts compare one to one. */
export const DEMO_USERS = 10_000;

/**
 * Monitoring API families and `metric` labels as src/model/metrics.ts names them; the one place to update when they
 * are renamed.
 */
const MONITORING = {
  value: 'm365_service_activity_bucket_events',
  mfaSuccess: 'get_metrics_for_mfa_sign_in_success',
  mailDelivered: 'get_message_volume_metrics_for_email_delivery',
};

export interface DemoScenario {
  summary: string;
  /** The simulator scenario each tenant plays; `stepFactor` stretches its steps (2: half speed). */
  plays: Array<{ tenant: DemoTenantName; scenario: string; stepFactor?: number }>;
  /** Exporter settings over the demo's own (demo.ts), and per tenant; shown on the page with the reason. */
  config?: Record<string, unknown>;
  tenantConfig?: Partial<Record<DemoTenantName, Record<string, unknown>>>;
  configWhy?: string;
  signals: Signal[];
  notes?: string[];
}

const contoso = (labels: Record<string, string> = {}) => ({ tenant: 'contoso', ...labels });
const fabrikam = (labels: Record<string, string> = {}) => ({ tenant: 'fabrikam', ...labels });
const lastGoodDataKept: Signal['all'] = [
  { series: series('m365_exporter_collector_success', contoso({ collector: 'health' })), op: '==', than: 0 },
  { series: series('m365_service_info', contoso()), op: '>', than: 0 },
];
const fabrikamUnaffected: Signal = {
  what: 'fabrikam, with its own app registration, is unaffected',
  all: [{ series: series('m365_exporter_collector_success', fabrikam({ collector: 'health' })), op: '==', than: 1 }],
};

/** Shown in every scenario: the capabilities that run whatever happens to contoso. */
export const COMMON_SIGNALS: Signal[] = [
  {
    what: 'Monitoring API telemetry (serviceActivity: [all], 38 functions), e.g. mail delivered to fabrikam in the latest settled 5-minute bucket',
    all: [{ series: series(MONITORING.value, fabrikam({ metric: MONITORING.mailDelivered })), op: '>', than: 0 }],
  },
  {
    what: 'OTLP push: the exporter sends every metric to the demo\'s receiver, which prints a line per export',
    all: [{ series: series('m365_exporter_otlp_exports_total', { result: 'success' }), op: '>', than: 0 }],
  },
];

export const DEMO_SCENARIOS: Readonly<Record<string, DemoScenario>> = {
  'incident-lifecycle': {
    summary:
      'An Exchange incident goes investigating → serviceDegradation → serviceInterruption → serviceRestored → post-incident ' +
      'review published, while a SharePoint advisory stays open; contoso at full speed, fabrikam at half.',
    plays: [
      { tenant: 'contoso', scenario: 'incident-lifecycle' },
      { tenant: 'fabrikam', scenario: 'incident-lifecycle', stepFactor: 2 },
    ],
    signals: [
      {
        what: 'An open Exchange incident',
        all: [{ series: series('m365_service_issues_open', contoso({ service_id: 'Exchange', classification: 'incident' })), op: '>', than: 0 }],
      },
      {
        what: 'Exchange interrupted: the status is a state set, one series per status (M365ServiceInterruption fires on this)',
        all: [{ series: series('m365_service_status', contoso({ service_id: 'Exchange', status: 'serviceInterruption' })), op: '==', than: 1 }],
      },
      {
        what: 'The resolved incident stays exported with its final status, post-incident review published',
        all: [{ series: series('m365_service_issue_info', contoso({ service_id: 'Exchange', status: 'postIncidentReviewPublished', resolved: 'true' })), op: '==', than: 1 }],
      },
      {
        what: 'The SharePoint advisory is counted apart from incidents',
        all: [{ series: series('m365_service_issues_open', contoso({ service_id: 'SharePoint', classification: 'advisory' })), op: '>', than: 0 }],
      },
    ],
  },
  'advisory-only': {
    summary:
      'A SharePoint advisory sets the service\'s status to serviceDegradation with no incident at all, then is resolved: ' +
      'advisories never page as outages.',
    plays: [{ tenant: 'contoso', scenario: 'advisory-only' }],
    signals: [
      {
        what: 'SharePoint is not operational, yet has no open incident, only an advisory: M365ServiceDegradedByIncident stays silent',
        all: [
          { series: series('m365_service_operational', contoso({ service_id: 'SharePoint' })), op: '==', than: 0 },
          { series: series('m365_service_issues_open', contoso({ service_id: 'SharePoint', classification: 'incident' })), op: '==', than: 0 },
          { series: series('m365_service_issues_open', contoso({ service_id: 'SharePoint', classification: 'advisory' })), op: '>', than: 0 },
        ],
      },
      {
        what: 'The status says how: serviceDegradation',
        all: [{ series: series('m365_service_status', contoso({ service_id: 'SharePoint', status: 'serviceDegradation' })), op: '==', than: 1 }],
      },
    ],
  },
  'throttling-storm': {
    summary:
      'Graph answers contoso 429 Too Many Requests with Retry-After: a burst of six (the retries succeed), then a storm ' +
      'where every request is refused (refreshes fail as throttled), then calm.',
    plays: [{ tenant: 'contoso', scenario: 'throttling-storm' }],
    signals: [
      { what: 'Every 429 is counted', all: [{ series: series('m365_exporter_graph_throttled_total', contoso()), op: '>', than: 0 }] },
      {
        what: 'In the storm refreshes fail with reason throttled, after graph.maxRetries retries that each waited Retry-After; the last good data stays',
        all: [{ series: series('m365_exporter_collector_errors_total', contoso({ reason: 'throttled' })), op: '>', than: 0 }, ...lastGoodDataKept],
      },
      {
        what: 'Every retry spends the per-tenant request budget: contoso has less of its minute left than fabrikam',
        all: [{
          series: series('m365_exporter_graph_request_budget_remaining', contoso({ api: 'serviceCommunications', window: '1m' })),
          op: '<',
          than: series('m365_exporter_graph_request_budget_remaining', fabrikam({ api: 'serviceCommunications', window: '1m' })),
          factor: 1,
        }],
      },
      fabrikamUnaffected,
    ],
    notes: [
      'A long storm spends the hourly budget (800 requests, as Graph allows): the exporter then stops asking and fails refreshes with reason budget_exhausted instead of hammering Graph.',
    ],
  },
  'expired-secret': {
    summary:
      'contoso\'s client secret expires: Entra ID answers AADSTS7000222, refreshes fail, the last good data stays; later ' +
      'a new secret works again. The simulator revokes the tokens issued before at the same moment, so this shows at once ' +
      'instead of at the next token renewal (up to 60-90 minutes with a real tenant).',
    plays: [{ tenant: 'contoso', scenario: 'expired-secret' }],
    tenantConfig: { contoso: { clientSecretExpiresAt: new Date().toISOString().slice(0, 10) } },
    configWhy: 'clientSecretExpiresAt set to today for contoso, as you would declare it to be warned weeks ahead',
    signals: [
      {
        what: 'Entra ID refuses the secret, and the AADSTS code says why: expired',
        all: [{ series: series('m365_exporter_token_error_info', contoso({ error_code: 'AADSTS7000222' })), op: '==', than: 1 }],
      },
      {
        what: 'Refreshes fail with reason auth, and the last good data stays exported',
        all: [{ series: series('m365_exporter_collector_errors_total', contoso({ reason: 'auth' })), op: '>', than: 0 }, ...lastGoodDataKept],
      },
      {
        what: 'The declared expiry date (clientSecretExpiresAt), for M365CredentialExpiringSoon weeks ahead',
        all: [{ series: series('m365_exporter_credential_expiry_timestamp_seconds', contoso({ kind: 'secret' })), op: '>', than: 0 }],
      },
      fabrikamUnaffected,
    ],
  },
  'graph-outage': {
    summary:
      'Graph fails for contoso: 503 Service Unavailable, then no answer at all (timeouts), then it is back. The last good ' +
      'data stays until maxStaleness, then goes, while the exporter\'s own series say what is wrong.',
    plays: [{ tenant: 'contoso', scenario: 'graph-outage' }],
    config: {
      maxStaleness: '15s',
      refresh: { messages: '15s', serviceActivity: '15s' },
      serviceActivity: { requestsPerMinute: 200 },
      graph: { timeout: '2s', maxRetries: 1 },
    },
    configWhy: 'a short maxStaleness (default 1h), graph.timeout (30s) and one retry (4), so the outage shows in seconds',
    signals: [
      {
        what: 'Graph answers 503: refreshes fail with reason graph_error, the last good data stays',
        all: [{ series: series('m365_exporter_collector_errors_total', contoso({ reason: 'graph_error' })), op: '>', than: 0 }, ...lastGoodDataKept],
      },
      {
        what: 'Graph does not answer: refreshes fail with reason timeout',
        all: [{ series: series('m365_exporter_collector_errors_total', contoso({ reason: 'timeout' })), op: '>', than: 0 }],
      },
      {
        what: 'After maxStaleness the data goes, nothing half-true stays exported; the exporter\'s own series stay (M365DataStale keeps firing)',
        all: [
          { series: series('m365_service_info', contoso()), op: 'absent' },
          { series: series('m365_exporter_collector_success', contoso({ collector: 'health' })), op: '==', than: 0 },
        ],
      },
      fabrikamUnaffected,
    ],
  },
  'mfa-anomaly': {
    summary:
      'Monitoring API: contoso\'s MFA sign-in successes dropped to a fifth 30 minutes ago (backdated, so the settled ' +
      '5-minute buckets show it at once); fabrikam, a tenant of the same size, is normal.',
    plays: [{ tenant: 'contoso', scenario: 'mfa-anomaly' }],
    signals: [
      {
        what: 'contoso\'s MFA sign-in successes are below half of fabrikam\'s',
        all: [{
          series: series(MONITORING.value, contoso({ metric: MONITORING.mfaSuccess })),
          op: '<',
          than: series(MONITORING.value, fabrikam({ metric: MONITORING.mfaSuccess })),
          factor: 0.5,
        }],
      },
    ],
    notes: [
      'In production, M365MfaSignInSuccessDrop compares with the same hour last week, which needs a week of Prometheus history; here fabrikam is the yardstick.',
    ],
  },
};

export const DEFAULT_SCENARIO = 'incident-lifecycle';
