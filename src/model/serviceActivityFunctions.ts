/**
 * The Microsoft 365 Monitoring API (Graph beta `reports/serviceActivity`, graph-api-reference §6.3): every function,
 * its workload, what its numbers mean, and whether Graph answers counts (serviceActivityValueMetric) or percentages
 * (serviceActivityPerformanceMetric). One table, so supporting a new function is one line.
 */
export const SERVICE_ACTIVITY_WORKLOADS = ['exchange', 'teams', 'm365_apps', 'onedrive', 'entra', 'global_secure_access', 'agent_id'] as const;
export type ServiceActivityWorkload = (typeof SERVICE_ACTIVITY_WORKLOADS)[number];

/**
 * What a function's bucket means, which decides the metric family:
 * - `events`: things that happened in the bucket (sign-ins, messages, meetings joined): they add up over time, so
 *   they feed a counter (`m365_service_activity_events_total`) and the latest bucket's gauge;
 * - `distinct`: how many different users, apps or devices were active in the bucket: summing buckets counts the same
 *   user again in each, so only a gauge (`m365_service_activity_distinct`);
 * - `level`: a state measured in the bucket (remote-network branches connected): a gauge (`m365_service_activity_level`);
 * - `percentage`: a share (connectivity, audio quality), exported as a ratio 0-1 (`m365_service_activity_ratio`).
 */
export const SERVICE_ACTIVITY_KINDS = ['events', 'distinct', 'level', 'percentage'] as const;
export type ServiceActivityKind = (typeof SERVICE_ACTIVITY_KINDS)[number];
/** What a `distinct` function counts: the `entity` label. */
export const DISTINCT_ENTITIES = ['users', 'apps', 'devices'] as const;
export type DistinctEntity = (typeof DISTINCT_ENTITIES)[number];

export interface ServiceActivityFunction {
  /** Graph function name, exactly as Graph spells it. */
  name: string;
  workload: ServiceActivityWorkload;
  kind: ServiceActivityKind;
  /** For `distinct` functions: what is counted. */
  entity?: DistinctEntity;
  /** The `metric` label: snake_case of the function name, acronyms as one word (`qoe`, `bgp`, `ios`). */
  metric: string;
  /** Application permission it needs, for the message when Graph answers 403. */
  permission: string;
  /**
   * Documented on Microsoft Learn but absent from Graph's beta metadata (microsoftgraph/msgraph-metadata), so Graph
   * may not know it: read only when named explicitly, never through `all` or its workload.
   */
  learnOnly?: true;
}

const PERMISSIONS: Record<ServiceActivityWorkload, string> = {
  exchange: 'ServiceActivity-Exchange.Read.All',
  teams: 'ServiceActivity-Teams.Read.All',
  m365_apps: 'ServiceActivity-Microsoft365Web.Read.All',
  onedrive: 'ServiceActivity-OneDrive.Read.All',
  entra: 'Reports.Read.All',
  global_secure_access: 'Reports.Read.All',
  agent_id: 'Reports.Read.All',
};

type Row = [ServiceActivityWorkload, ServiceActivityKind | `distinct:${DistinctEntity}`, string, 'learn-only'?];

const TABLE: Row[] = [
  ['exchange', 'distinct:users', 'getActiveUserMetricsForDesktopMailByReadEmail'],
  ['exchange', 'distinct:users', 'getActiveUserMetricsForOutlookMobileByReadEmail'],
  ['exchange', 'distinct:users', 'getActiveUserMetricsForOutlookWebByReadEmail'],
  ['exchange', 'distinct:users', 'getActiveUserMetricsForOutlookMacByReadEmail'],
  ['exchange', 'distinct:users', 'getActiveUserMetricsForiOSOrAndroidMailByReadEmail'],
  ['exchange', 'distinct:users', 'getActiveUserMetricsForOutlookWebByAppOpening'],
  ['exchange', 'distinct:users', 'getActiveUserMetricsForEmailByModernAuthentication'],
  ['exchange', 'events', 'getMessageVolumeMetricsForEmailDelivery'],
  ['exchange', 'percentage', 'getConnectivityMetricsForExchange'],
  ['teams', 'events', 'getMessageVolumeMetricsForTeamsChat'],
  ['teams', 'events', 'getUsageMetricsForTeamsByLaunch'],
  ['teams', 'events', 'getUsageMetricsForTeamsByMeetingsJoined'],
  ['teams', 'percentage', 'getAudioStreamQoEMetricsForTeams'],
  ['teams', 'percentage', 'getAudioStreamsOverUdpMetricsForTeams'],
  ['m365_apps', 'distinct:users', 'getActiveUserMetricsForExcelWeb'],
  ['m365_apps', 'distinct:users', 'getActiveUserMetricsForOneNoteWeb'],
  ['m365_apps', 'distinct:users', 'getActiveUserMetricsForPowerPointWeb'],
  ['m365_apps', 'distinct:users', 'getActiveUserMetricsForVisioWeb'],
  ['m365_apps', 'distinct:users', 'getActiveUserMetricsForWordWeb'],
  ['onedrive', 'distinct:devices', 'getDeviceMetricsForOneDriveForBusinessBydownloadOnlineOnlyFiles', 'learn-only'],
  ['entra', 'events', 'getMetricsForMfaSignInSuccess'],
  ['entra', 'events', 'getMetricsForMfaSignInFailure'],
  ['entra', 'events', 'getMetricsForSamlSignInSuccess'],
  ['entra', 'events', 'getMetricsForConditionalAccessCompliantDevicesSignInSuccess'],
  ['entra', 'events', 'getMetricsForConditionalAccessManagedDevicesSignInSuccess'],
  ['entra', 'events', 'getMetricsForConditionalAccessBlockedSignIn'],
  ...([
    ['distinct:apps', 'InternetAppPolicyAllowedApps'], ['distinct:users', 'InternetAppPolicyAllowedUsers'],
    ['distinct:apps', 'InternetAppPolicyBlockedApps'], ['distinct:users', 'InternetAppPolicyBlockedUsers'],
    ['distinct:apps', 'PrivateAppsAllowedByConnector'], ['distinct:apps', 'PrivateAppsBlockedByConnector'],
    ['distinct:users', 'PrivateAppUsersAllowedByConnector'], ['distinct:users', 'PrivateAppUsersBlockedByConnector'],
    ['level', 'RemoteNetworkBranchesAlive'], ['level', 'RemoteNetworkBranchesBGPConnected'], ['level', 'RemoteNetworkBranchesBGPDisconnected'],
    ['level', 'RemoteNetworkBranchesTunnelConnected'], ['level', 'RemoteNetworkBranchesTunnelDisconnected'],
  ] as const).map(([kind, suffix]): Row => ['global_secure_access', kind, `getMetricsForNetworkAccess${suffix}`]),
  ['agent_id', 'events', 'getMetricsForAgentIdAutonomousSignInFailure', 'learn-only'],
];

/**
 * snake_case of a Graph function name: `getMetricsForMfaSignInSuccess` → `get_metrics_for_mfa_sign_in_success`. Mixed-case
 * acronyms stay one word (`QoE` → `qoe`, `iOS` → `ios`) and the one lowercase word join is split (`Bydownload` → `by_download`).
 */
export function snakeCase(name: string): string {
  return name
    .replace(/iOS/g, 'Ios')
    .replace(/QoE/g, 'Qoe')
    .replace(/Bydownload/g, 'ByDownload')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

export const SERVICE_ACTIVITY_FUNCTIONS: readonly ServiceActivityFunction[] = TABLE.map(([workload, meaning, name, learnOnly]) => {
  const [kind, entity] = meaning.split(':') as [ServiceActivityKind, DistinctEntity | undefined];
  return {
    name, workload, kind, metric: snakeCase(name), permission: PERMISSIONS[workload],
    ...(entity && { entity }), ...(learnOnly && { learnOnly: true as const }),
  };
});

/**
 * Resolves a tenant's selection: `all`, workload names and function names or metric labels (case-insensitive), in any
 * mix. `all` and workloads leave out the functions Graph's metadata lacks (`learnOnly`); naming one reads it.
 * Returns the functions, or the entries that match nothing.
 */
export function selectServiceActivityFunctions(selection: readonly string[]): { functions: ServiceActivityFunction[]; unknown: string[] } {
  const chosen = new Set<ServiceActivityFunction>();
  const unknown: string[] = [];
  for (const entry of selection) {
    const key = entry.toLowerCase();
    const named = SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.name.toLowerCase() === key || f.metric === key);
    const matches = named.length > 0 ? named : SERVICE_ACTIVITY_FUNCTIONS.filter((f) => !f.learnOnly && (key === 'all' || f.workload === key));
    if (matches.length === 0) unknown.push(entry);
    matches.forEach((f) => chosen.add(f));
  }
  return { functions: SERVICE_ACTIVITY_FUNCTIONS.filter((f) => chosen.has(f)), unknown };
}
