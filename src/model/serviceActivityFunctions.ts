/**
 * The Microsoft 365 Monitoring API (Graph beta `reports/serviceActivity`, graph-api-reference §6.3): every function,
 * its workload and whether it returns counts (serviceActivityValueMetric) or percentages
 * (serviceActivityPerformanceMetric). One table, so supporting a new function is one line.
 */
export const SERVICE_ACTIVITY_WORKLOADS = ['exchange', 'teams', 'm365_apps', 'onedrive', 'entra', 'global_secure_access', 'agent_id'] as const;
export type ServiceActivityWorkload = (typeof SERVICE_ACTIVITY_WORKLOADS)[number];

export interface ServiceActivityFunction {
  /** Graph function name, exactly as Graph spells it. */
  name: string;
  workload: ServiceActivityWorkload;
  kind: 'count' | 'percentage';
  /** The `metric` label: snake_case of the function name. */
  metric: string;
  /** Application permission it needs, for the message when Graph answers 403. */
  permission: string;
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

const TABLE: Array<[ServiceActivityWorkload, 'count' | 'percentage', string]> = [
  ['exchange', 'count', 'getActiveUserMetricsForDesktopMailByReadEmail'],
  ['exchange', 'count', 'getActiveUserMetricsForOutlookMobileByReadEmail'],
  ['exchange', 'count', 'getActiveUserMetricsForOutlookWebByReadEmail'],
  ['exchange', 'count', 'getActiveUserMetricsForOutlookMacByReadEmail'],
  ['exchange', 'count', 'getActiveUserMetricsForiOSOrAndroidMailByReadEmail'],
  ['exchange', 'count', 'getActiveUserMetricsForOutlookWebByAppOpening'],
  ['exchange', 'count', 'getActiveUserMetricsForEmailByModernAuthentication'],
  ['exchange', 'count', 'getMessageVolumeMetricsForEmailDelivery'],
  ['exchange', 'percentage', 'getConnectivityMetricsForExchange'],
  ['teams', 'count', 'getMessageVolumeMetricsForTeamsChat'],
  ['teams', 'count', 'getUsageMetricsForTeamsByLaunch'],
  ['teams', 'count', 'getUsageMetricsForTeamsByMeetingsJoined'],
  ['teams', 'percentage', 'getAudioStreamQoEMetricsForTeams'],
  ['teams', 'percentage', 'getAudioStreamsOverUdpMetricsForTeams'],
  ['m365_apps', 'count', 'getActiveUserMetricsForExcelWeb'],
  ['m365_apps', 'count', 'getActiveUserMetricsForOneNoteWeb'],
  ['m365_apps', 'count', 'getActiveUserMetricsForPowerPointWeb'],
  ['m365_apps', 'count', 'getActiveUserMetricsForVisioWeb'],
  ['m365_apps', 'count', 'getActiveUserMetricsForWordWeb'],
  ['onedrive', 'count', 'getDeviceMetricsForOneDriveForBusinessBydownloadOnlineOnlyFiles'],
  ['entra', 'count', 'getMetricsForMfaSignInSuccess'],
  ['entra', 'count', 'getMetricsForMfaSignInFailure'],
  ['entra', 'count', 'getMetricsForSamlSignInSuccess'],
  ['entra', 'count', 'getMetricsForConditionalAccessCompliantDevicesSignInSuccess'],
  ['entra', 'count', 'getMetricsForConditionalAccessManagedDevicesSignInSuccess'],
  ['entra', 'count', 'getMetricsForConditionalAccessBlockedSignIn'],
  ...([
    'InternetAppPolicyAllowedApps', 'InternetAppPolicyAllowedUsers', 'InternetAppPolicyBlockedApps', 'InternetAppPolicyBlockedUsers',
    'PrivateAppsAllowedByConnector', 'PrivateAppsBlockedByConnector', 'PrivateAppUsersAllowedByConnector', 'PrivateAppUsersBlockedByConnector',
    'RemoteNetworkBranchesAlive', 'RemoteNetworkBranchesBGPConnected', 'RemoteNetworkBranchesBGPDisconnected',
    'RemoteNetworkBranchesTunnelConnected', 'RemoteNetworkBranchesTunnelDisconnected',
  ].map((suffix): [ServiceActivityWorkload, 'count', string] => ['global_secure_access', 'count', `getMetricsForNetworkAccess${suffix}`])),
  ['agent_id', 'count', 'getMetricsForAgentIdAutonomousSignInFailure'],
];

/** snake_case of a Graph function name: `getMetricsForMfaSignInSuccess` → `get_metrics_for_mfa_sign_in_success`. */
export function snakeCase(name: string): string {
  return name
    .replace(/iOS/g, 'Ios') // the one mixed-case acronym: getActiveUserMetricsForiOSOrAndroid… → …_for_ios_or_android_…
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

export const SERVICE_ACTIVITY_FUNCTIONS: readonly ServiceActivityFunction[] = TABLE.map(([workload, kind, name]) => ({
  name, workload, kind, metric: snakeCase(name), permission: PERMISSIONS[workload],
}));

/**
 * Resolves a tenant's selection: `all`, workload names and function names (case-insensitive), in any mix.
 * Returns the functions, or the entries that match nothing.
 */
export function selectServiceActivityFunctions(selection: readonly string[]): { functions: ServiceActivityFunction[]; unknown: string[] } {
  const chosen = new Set<ServiceActivityFunction>();
  const unknown: string[] = [];
  for (const entry of selection) {
    const key = entry.toLowerCase();
    const matches = key === 'all'
      ? SERVICE_ACTIVITY_FUNCTIONS
      : SERVICE_ACTIVITY_FUNCTIONS.filter((f) => f.workload === key || f.name.toLowerCase() === key || f.metric === key);
    if (matches.length === 0) unknown.push(entry);
    matches.forEach((f) => chosen.add(f));
  }
  return { functions: SERVICE_ACTIVITY_FUNCTIONS.filter((f) => chosen.has(f)), unknown };
}
