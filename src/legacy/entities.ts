/**
 * The retired Office 365 Service Communications API's entities (shared/seeds: its reference and an admin's
 * PowerShell walk-through), made from what the collectors hold. Graph has no per-service feature list and no incident
 * severity, so `FeatureNames` and `FeatureGroupStatusCollection` list the feature groups of the service's issues
 * within `issueRetention`, and incidents carry `Severity: null`.
 */
import type { DailyHistory } from '../history/daily.js';
import { bodyText } from '../collectors/body.js';
import type { Issue } from '../collectors/issues.js';
import type { Message } from '../collectors/messages.js';
import { isOperational, statusSeverity } from '../graph/enums.js';
import type { TenantData } from '../runtime/tenant.js';
import type { Entity, FilterProperty } from './query.js';

const DAY_MS = 86_400_000;

/** Graph statuses whose legacy name is not their own in PascalCase. */
const RENAMED: Record<string, string> = { postIncidentReviewPublished: 'PostIncidentReportPublished' };
/** How Messages spelled the statuses (`Status : Service degradation` in the walk-through), where not derivable. */
const DISPLAY: Record<string, string> = { PostIncidentReportPublished: 'Post-incident report published' };

/** CurrentStatus' vocabulary: serviceDegradation → ServiceDegradation, postIncidentReviewPublished → PostIncidentReportPublished. */
export function legacyStatus(status: string): string {
  return RENAMED[status] ?? status.charAt(0).toUpperCase() + status.slice(1);
}

/** Messages' vocabulary: ServiceDegradation → "Service degradation", FalsePositive → "False positive". */
export function legacyStatusText(status: string): string {
  const name = legacyStatus(status);
  if (DISPLAY[name]) return DISPLAY[name];
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A feature key as the legacy API had them ("Management and Provisioning" → ManagementandProvisioning). */
export function featureKey(displayName: string): string {
  return displayName.replace(/[^\p{L}\p{N}]/gu, '');
}

const PASCAL = (value: string) => value.charAt(0).toUpperCase() + value.slice(1);
const CATEGORY_TEXT: Record<string, string> = { planForChange: 'Plan For Change', stayInformed: 'Stay Informed', preventOrFixIssue: 'Prevent Or Fix Issue' };
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const read = (name: string) => (entity: Entity) => [entity[name] as string | null];

/** The services' feature groups, from their issues, in first-seen order. */
function featureGroupsByService(data: TenantData, serviceIdOf: (name: string) => string): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const issue of data.issues) {
    if (!issue.featureGroup) continue;
    const id = serviceIdOf(issue.serviceName);
    const list = groups.get(id) ?? [];
    if (!list.includes(issue.featureGroup)) list.push(issue.featureGroup);
    groups.set(id, list);
  }
  return groups;
}

function serviceLookup(data: TenantData) {
  const byName = new Map(data.services.map((s) => [s.name.toLowerCase(), s.id]));
  return (name: string) => byName.get(name.toLowerCase()) ?? name;
}

export interface LegacyOperation {
  /** The path segment after ServiceComms/. */
  name: string;
  properties: readonly string[];
  filterable: readonly FilterProperty[];
  /** The documented default and maximum of `$top`, where the reference gives one. */
  defaultTop?: number;
  entities(data: TenantData, now: Date): Entity[];
}

export const SERVICES: LegacyOperation = {
  name: 'Services',
  properties: ['Id', 'DisplayName', 'FeatureNames', 'Features'],
  filterable: [],
  entities(data) {
    const groups = featureGroupsByService(data, serviceLookup(data));
    return data.services.map((service) => {
      const names = groups.get(service.id) ?? [];
      return { Id: service.id, DisplayName: service.name, FeatureNames: names, Features: names.map((name) => ({ Name: featureKey(name), DisplayName: name })) };
    });
  },
};

export const CURRENT_STATUS: LegacyOperation = {
  name: 'CurrentStatus',
  properties: ['Id', 'Workload', 'StatusDate', 'StatusTime', 'WorkloadDisplayName', 'Status', 'IncidentIds', 'FeatureGroupStatusCollection'],
  filterable: [{ name: 'Workload', type: 'string', read: read('Workload') }],
  entities(data, now) {
    const serviceIdOf = serviceLookup(data);
    const groups = featureGroupsByService(data, serviceIdOf);
    // "The StatusDate or StatusTime value returned will be exactly 24 hours in the past", with the incidents of those 24 hours.
    const since = new Date(now.getTime() - DAY_MS);
    const statusDate = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate()));
    return data.services.map((service) => {
      const issues = data.issues.filter((issue) => serviceIdOf(issue.serviceName) === service.id);
      const recent = issues.filter((issue) => !issue.isResolved || (issue.end ?? issue.lastModified) >= since.getTime());
      return {
        Id: service.id,
        Workload: service.id,
        StatusDate: statusDate.toISOString(),
        StatusTime: since.toISOString(),
        WorkloadDisplayName: service.name,
        Status: legacyStatus(service.status),
        IncidentIds: recent.map((issue) => issue.id),
        FeatureGroupStatusCollection: (groups.get(service.id) ?? []).map((group) => ({
          Feature: featureKey(group),
          FeatureGroupDisplayName: group,
          FeatureStatus: legacyStatus(worstOpenStatus(issues.filter((issue) => issue.featureGroup === group))),
        })),
      };
    });
  },
};

function worstOpenStatus(issues: readonly Issue[]): string {
  let worst = 'serviceOperational';
  for (const issue of issues) {
    if (issue.isResolved || isOperational(issue.status)) continue;
    if (worst === 'serviceOperational' || statusSeverity(issue.status) > statusSeverity(worst)) worst = issue.status;
  }
  return worst;
}

const MESSAGE_PROPERTIES = [
  'Id', 'Name', 'Title', 'StartTime', 'EndTime', 'Status', 'Messages', 'LastUpdatedTime', 'Workload', 'WorkloadDisplayName',
  'Feature', 'FeatureDisplayName', 'MessageType', 'Classification', 'Severity', 'ImpactDescription', 'PostIncidentDocumentUrl',
  'ActionRequiredByDate', 'Category', 'IsMajorChange', 'AffectedWorkloadNames', 'AffectedWorkloadDisplayNames',
] as const;

export const MESSAGES: LegacyOperation = {
  name: 'Messages',
  properties: MESSAGE_PROPERTIES,
  defaultTop: 100,
  filterable: [
    // A message-center post is "about" each service it names.
    { name: 'Workload', type: 'string', read: (e) => [e.Workload as string | null, ...((e.AffectedWorkloadNames as string[] | undefined) ?? [])] },
    { name: 'StartTime', type: 'dateTime', read: read('StartTime') },
    { name: 'EndTime', type: 'dateTime', read: read('EndTime') },
    { name: 'MessageType', type: 'string', read: read('MessageType') },
    { name: 'Id', type: 'string', read: read('Id') },
  ],
  entities(data) {
    const serviceIdOf = serviceLookup(data);
    const names = new Map(data.services.map((s) => [s.id, s.name]));
    const entities = [...data.issues.map((issue) => issueMessage(issue, serviceIdOf, names)), ...data.messages.map((message) => centerMessage(message, serviceIdOf))];
    // Newest first, so `$top=10` is the ten latest.
    return entities.sort((a, b) => Date.parse(b.LastUpdatedTime as string) - Date.parse(a.LastUpdatedTime as string) || String(a.Id).localeCompare(String(b.Id)));
  },
};

function issueMessage(issue: Issue, serviceIdOf: (name: string) => string, names: Map<string, string>): Entity {
  const workload = serviceIdOf(issue.serviceName);
  return {
    Id: issue.id,
    Name: issue.id,
    Title: issue.title,
    StartTime: iso(issue.start),
    EndTime: iso(issue.isResolved ? issue.end : null),
    Status: legacyStatusText(issue.status),
    Messages: issue.posts.map((post) => ({ PublishedTime: iso(post.published), MessageText: bodyText(post.html) })),
    LastUpdatedTime: iso(issue.lastModified),
    Workload: workload,
    WorkloadDisplayName: names.get(workload) ?? issue.serviceName,
    Feature: issue.featureGroup ? featureKey(issue.featureGroup) : null,
    FeatureDisplayName: issue.featureGroup || null,
    MessageType: 'Incident',
    Classification: PASCAL(issue.classification),
    Severity: null,
    ImpactDescription: issue.impactDescription,
    PostIncidentDocumentUrl: null,
    ActionRequiredByDate: null,
    Category: null,
    IsMajorChange: null,
    AffectedWorkloadNames: [],
    AffectedWorkloadDisplayNames: [],
  };
}

function centerMessage(message: Message, serviceIdOf: (name: string) => string): Entity {
  const workloads = message.services.map(serviceIdOf);
  const updated = message.lastModified ?? message.start;
  return {
    Id: message.id,
    Name: message.id,
    Title: message.title,
    StartTime: iso(message.start),
    EndTime: iso(message.end),
    Status: null,
    Messages: [{ PublishedTime: iso(updated), MessageText: bodyText(message.html) }],
    LastUpdatedTime: iso(updated),
    Workload: workloads.length === 1 ? workloads[0] : null,
    WorkloadDisplayName: message.services.length === 1 ? message.services[0] : null,
    Feature: null,
    FeatureDisplayName: null,
    MessageType: 'MessageCenter',
    Classification: null,
    Severity: PASCAL(message.severity),
    ImpactDescription: null,
    PostIncidentDocumentUrl: null,
    ActionRequiredByDate: iso(message.actionRequiredBy),
    Category: CATEGORY_TEXT[message.category] ?? PASCAL(message.category),
    IsMajorChange: message.isMajorChange,
    AffectedWorkloadNames: workloads,
    AffectedWorkloadDisplayNames: message.services,
  };
}

export const LEGACY_OPERATIONS: readonly LegacyOperation[] = [SERVICES, CURRENT_STATUS, MESSAGES];

/** Days HistoricalStatus covers, as the retired API did ("the last 30 days"); `$filter` on StatusTime narrows it. */
export const HISTORICAL_DAYS = 30;

/**
 * `HistoricalStatus`: one entity per service and UTC day from the history store's daily history (src/history/daily.ts):
 * the day's worst status, the incidents that touched it, and per feature group its worst status. Newest day first.
 */
export const HISTORICAL_STATUS = {
  name: 'HistoricalStatus',
  properties: ['Id', 'Workload', 'StatusDate', 'StatusTime', 'WorkloadDisplayName', 'Status', 'IncidentIds', 'FeatureGroupStatusCollection'],
  filterable: [
    { name: 'Workload', type: 'string', read: read('Workload') },
    { name: 'StatusTime', type: 'dateTime', read: read('StatusTime') },
  ],
  entities(history: DailyHistory): Entity[] {
    const entities = history.services.flatMap((service) => service.days.map((day): Entity => {
      const at = `${day.date}T00:00:00.000Z`;
      return {
        Id: service.serviceId,
        Workload: service.serviceId,
        StatusDate: at,
        StatusTime: at,
        WorkloadDisplayName: service.serviceName,
        // A day with nothing observed and no issue is operational, as the retired API reported it.
        Status: legacyStatus(day.worstStatus === 'unknown' ? 'serviceOperational' : day.worstStatus),
        IncidentIds: day.incidents,
        FeatureGroupStatusCollection: day.featureGroups.map((group) => ({
          Feature: featureKey(group.featureGroup),
          FeatureGroupDisplayName: group.featureGroup,
          FeatureStatus: legacyStatus(group.worstStatus),
        })),
      };
    }));
    return entities.sort((a, b) => Date.parse(b.StatusTime as string) - Date.parse(a.StatusTime as string) || String(a.Id).localeCompare(String(b.Id)));
  },
} satisfies Omit<LegacyOperation, 'entities'> & { entities(history: DailyHistory): Entity[] };
