/**
 * The simulator's own catalogue of Microsoft 365 Monitoring API functions (Graph beta `reports/serviceActivity`,
 * graph-api-reference §6.3), kept apart from production code on purpose, and the data model behind them:
 * per-minute synthetic telemetry, deterministic per (tenant, function, minute), that buckets sum or average.
 *
 * Model (all UTC):
 * - Counts: `users × perUserPerMinute × activity(t) × noise` per minute; activity follows office hours (night ≈ 0.06,
 *   peak 1.0 around 10:00 and 14:30 with a lunch dip, weekends × 0.25) or is flat (agents run around the clock).
 *   A bucket's value is the rounded sum of its minutes (ref B-VM: "aggregated per minute").
 * - Levels (remote-network branch counts): a tenant's number of branches, not summed over minutes.
 * - Percentages: ~99.x per minute; a bucket is the mean of its minutes.
 */
import { hashString, unit } from './random.js';

export const SERVICE_ACTIVITY_WORKLOADS = ['exchange', 'teams', 'm365_apps', 'onedrive', 'entra', 'global_secure_access', 'agent_id'] as const;
export type ServiceActivityWorkload = (typeof SERVICE_ACTIVITY_WORKLOADS)[number];

export type ServiceActivityAnomalyKind = 'mfaSuccessDrop' | 'exchangeConnectivityDrop' | 'teamsAudioQualityDrop';

export interface ServiceActivityFunctionSpec {
  /** Exactly as Graph spells it (note `getActiveUserMetricsForiOS…` and `…OneDriveForBusinessBydownload…`). */
  name: string;
  workload: ServiceActivityWorkload;
  /** `value`: serviceActivityValueMetric (Int64 `value`); `percentage`: serviceActivityPerformanceMetric (Double `percentage`). */
  type: 'value' | 'percentage';
  /** Permission a 403 stands for (ref §6.3). */
  permission: string;
}

/** How a function's numbers are made. */
export type ServiceActivityProfile =
  | { model: 'count'; perUserPerMinute: number; pattern: 'office' | 'flat' }
  /** Per-tenant level: branches × perBranch (two tunnels per branch); `flap`: which way a rare flapping minute moves it. */
  | { model: 'level'; perBranch: number; flap: 'down' | 'up' }
  | { model: 'percentage'; base: number; spread: number };

/** A catalogue entry with the data profile behind it (simulator-internal). */
export interface ServiceActivityEntry extends ServiceActivityFunctionSpec {
  profile: ServiceActivityProfile;
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

const office = (perUserPerMinute: number): ServiceActivityProfile => ({ model: 'count', perUserPerMinute, pattern: 'office' });

const TABLE: Array<[ServiceActivityWorkload, string, ServiceActivityProfile]> = [
  // Exchange Online (9)
  ['exchange', 'getActiveUserMetricsForDesktopMailByReadEmail', office(0.08)],
  ['exchange', 'getActiveUserMetricsForOutlookMobileByReadEmail', office(0.03)],
  ['exchange', 'getActiveUserMetricsForOutlookWebByReadEmail', office(0.04)],
  ['exchange', 'getActiveUserMetricsForOutlookMacByReadEmail', office(0.008)],
  ['exchange', 'getActiveUserMetricsForiOSOrAndroidMailByReadEmail', office(0.005)],
  ['exchange', 'getActiveUserMetricsForOutlookWebByAppOpening', office(0.01)],
  ['exchange', 'getActiveUserMetricsForEmailByModernAuthentication', office(0.12)],
  ['exchange', 'getMessageVolumeMetricsForEmailDelivery', office(0.6)],
  ['exchange', 'getConnectivityMetricsForExchange', { model: 'percentage', base: 99.6, spread: 0.35 }],
  // Teams (5)
  ['teams', 'getMessageVolumeMetricsForTeamsChat', office(0.5)],
  ['teams', 'getUsageMetricsForTeamsByLaunch', office(0.03)],
  ['teams', 'getUsageMetricsForTeamsByMeetingsJoined', office(0.02)],
  ['teams', 'getAudioStreamQoEMetricsForTeams', { model: 'percentage', base: 99.3, spread: 0.6 }],
  ['teams', 'getAudioStreamsOverUdpMetricsForTeams', { model: 'percentage', base: 99.1, spread: 0.8 }],
  // Microsoft 365 web apps (5)
  ['m365_apps', 'getActiveUserMetricsForExcelWeb', office(0.01)],
  ['m365_apps', 'getActiveUserMetricsForOneNoteWeb', office(0.004)],
  ['m365_apps', 'getActiveUserMetricsForPowerPointWeb', office(0.006)],
  ['m365_apps', 'getActiveUserMetricsForVisioWeb', office(0.0008)],
  ['m365_apps', 'getActiveUserMetricsForWordWeb', office(0.015)],
  // OneDrive for work or school (1, preview)
  ['onedrive', 'getDeviceMetricsForOneDriveForBusinessBydownloadOnlineOnlyFiles', office(0.006)],
  // Microsoft Entra (6)
  ['entra', 'getMetricsForMfaSignInSuccess', office(0.02)],
  ['entra', 'getMetricsForMfaSignInFailure', office(0.0008)],
  ['entra', 'getMetricsForSamlSignInSuccess', office(0.01)],
  ['entra', 'getMetricsForConditionalAccessCompliantDevicesSignInSuccess', office(0.05)],
  ['entra', 'getMetricsForConditionalAccessManagedDevicesSignInSuccess', office(0.045)],
  ['entra', 'getMetricsForConditionalAccessBlockedSignIn', office(0.001)],
  // Global Secure Access (13)
  ['global_secure_access', 'getMetricsForNetworkAccessInternetAppPolicyAllowedApps', office(0.002)],
  ['global_secure_access', 'getMetricsForNetworkAccessInternetAppPolicyAllowedUsers', office(0.01)],
  ['global_secure_access', 'getMetricsForNetworkAccessInternetAppPolicyBlockedApps', office(0.0002)],
  ['global_secure_access', 'getMetricsForNetworkAccessInternetAppPolicyBlockedUsers', office(0.0008)],
  ['global_secure_access', 'getMetricsForNetworkAccessPrivateAppsAllowedByConnector', office(0.002)],
  ['global_secure_access', 'getMetricsForNetworkAccessPrivateAppsBlockedByConnector', office(0.0001)],
  ['global_secure_access', 'getMetricsForNetworkAccessPrivateAppUsersAllowedByConnector', office(0.008)],
  ['global_secure_access', 'getMetricsForNetworkAccessPrivateAppUsersBlockedByConnector', office(0.0003)],
  ['global_secure_access', 'getMetricsForNetworkAccessRemoteNetworkBranchesAlive', { model: 'level', perBranch: 1, flap: 'down' }],
  ['global_secure_access', 'getMetricsForNetworkAccessRemoteNetworkBranchesBGPConnected', { model: 'level', perBranch: 1, flap: 'down' }],
  ['global_secure_access', 'getMetricsForNetworkAccessRemoteNetworkBranchesBGPDisconnected', { model: 'level', perBranch: 0, flap: 'up' }],
  ['global_secure_access', 'getMetricsForNetworkAccessRemoteNetworkBranchesTunnelConnected', { model: 'level', perBranch: 2, flap: 'down' }],
  ['global_secure_access', 'getMetricsForNetworkAccessRemoteNetworkBranchesTunnelDisconnected', { model: 'level', perBranch: 0, flap: 'up' }],
  // Agent ID (1): agents sign in around the clock
  ['agent_id', 'getMetricsForAgentIdAutonomousSignInFailure', { model: 'count', perUserPerMinute: 0.0004, pattern: 'flat' }],
];

const ENTRIES: readonly ServiceActivityEntry[] = TABLE.map(([workload, name, profile]) => ({
  name,
  workload,
  type: profile.model === 'percentage' ? 'percentage' : 'value',
  permission: PERMISSIONS[workload],
  profile,
}));

/** Every function the simulator serves, in reference order (9 + 5 + 5 + 1 + 6 + 13 + 1 = 40). */
export const SERVICE_ACTIVITY_FUNCTIONS: ReadonlyArray<ServiceActivityFunctionSpec> = ENTRIES.map(({ name, workload, type, permission }) =>
  Object.freeze({ name, workload, type, permission }),
);

const BY_NAME = new Map(ENTRIES.map((e) => [e.name, e]));

/** Exact-case lookup: a misspelt name (e.g. `getActiveUserMetricsForIOSOrAndroid…`) is not a function. */
export function findServiceActivityFunction(name: string): ServiceActivityEntry | undefined {
  return BY_NAME.get(name);
}

/**
 * Functions a deny/allow key names: a workload (`teams`), a function name or a permission
 * (`Reports.Read.All` covers Entra, Global Secure Access and Agent ID); case-insensitive. Empty when unknown.
 */
export function functionsMatching(key: string): string[] {
  const k = key.toLowerCase();
  return ENTRIES.filter((e) => e.workload === k || e.name.toLowerCase() === k || e.permission.toLowerCase() === k).map((e) => e.name);
}

/** Which functions an anomaly affects and how (ref: issue 5 — MFA success drops, Exchange connectivity falls, Teams audio degrades). */
const ANOMALIES: Record<ServiceActivityAnomalyKind, { functions: string[]; effect: { factor: number } | { percentage: number; spread: number } }> = {
  mfaSuccessDrop: { functions: ['getMetricsForMfaSignInSuccess'], effect: { factor: 0.2 } },
  exchangeConnectivityDrop: { functions: ['getConnectivityMetricsForExchange'], effect: { percentage: 70, spread: 1.5 } },
  teamsAudioQualityDrop: { functions: ['getAudioStreamQoEMetricsForTeams', 'getAudioStreamsOverUdpMetricsForTeams'], effect: { percentage: 60, spread: 2 } },
};

export const SERVICE_ACTIVITY_ANOMALY_KINDS = Object.keys(ANOMALIES) as ServiceActivityAnomalyKind[];

/** An anomaly switched on at `fromMs` and off at `toMs` (open while undefined). */
export interface AnomalyPeriod {
  kind: ServiceActivityAnomalyKind;
  fromMs: number;
  toMs?: number;
}

/** What the data model needs to know about a tenant. */
export interface ActivitySource {
  tenantId: string;
  users: number;
  anomalies: readonly AnomalyPeriod[];
}

const MINUTE_MS = 60_000;

/**
 * Per-minute samples of one function for one tenant: `sample(minuteIndex)` with minuteIndex = epoch ms / 60 000.
 * Counts are fractional (rounded per bucket); percentages are 0–100.
 */
export function minuteSampler(tenant: ActivitySource, fn: ServiceActivityEntry): (minute: number) => number {
  const seed = hashString(`${tenant.tenantId.toLowerCase()}|${fn.name}`);
  const tenantSeed = hashString(tenant.tenantId.toLowerCase());
  const anomalies = tenant.anomalies.filter((a) => ANOMALIES[a.kind].functions.includes(fn.name));
  const anomalyAt = (minute: number): (typeof ANOMALIES)[ServiceActivityAnomalyKind]['effect'] | undefined => {
    const t = minute * MINUTE_MS;
    const a = anomalies.find((p) => t >= p.fromMs && (p.toMs === undefined || t < p.toMs));
    return a && ANOMALIES[a.kind].effect;
  };
  const { profile } = fn;
  switch (profile.model) {
    case 'count':
      return (minute) => {
        const activity = profile.pattern === 'office' ? officeActivity(minute * MINUTE_MS) : 1;
        const noise = 0.8 + 0.4 * unit(seed, minute);
        const effect = anomalyAt(minute);
        const factor = effect && 'factor' in effect ? effect.factor : 1;
        return tenant.users * profile.perUserPerMinute * activity * noise * factor;
      };
    case 'level': {
      const branches = 3 + (tenantSeed % 18);
      return (minute) => {
        const level = branches * profile.perBranch;
        // About one minute in 1 000 a branch flaps (one fewer connected, one more disconnected).
        const flapping = unit(seed ^ 0x5bd1e995, minute) < 0.001;
        return flapping ? (profile.flap === 'down' ? Math.max(0, level - 1) : level + 1) : level;
      };
    }
    case 'percentage':
      return (minute) => {
        const effect = anomalyAt(minute);
        const [base, spread] = effect && 'percentage' in effect ? [effect.percentage, effect.spread] : [profile.base, profile.spread];
        return Math.min(100, Math.max(0, base + spread * (2 * unit(seed, minute) - 1)));
      };
  }
}

/** Office-hours activity 0.06–1.0 (UTC): business-day double hump with a lunch dip, weekends × 0.25. */
export function officeActivity(ms: number): number {
  const date = new Date(ms);
  const hour = date.getUTCHours() + date.getUTCMinutes() / 60;
  const bump = (centre: number, width: number): number => Math.exp(-(((hour - centre) / width) ** 2));
  const day = Math.min(1, 0.95 * Math.max(bump(10, 2.2), bump(14.5, 2.4)) + 0.05 * bump(12.25, 0.8));
  const weekday = date.getUTCDay() !== 0 && date.getUTCDay() !== 6;
  return (0.06 + 0.94 * day) * (weekday ? 1 : 0.25);
}

/** Licensed users a tenant's counts scale with, when its spec does not say: 300–6 000, stable per tenant id. */
export function defaultUsers(tenantId: string): number {
  return 300 + (hashString(`${tenantId.toLowerCase()}|users`) % 5701);
}
