import { statusSeverity } from '../graph/enums.js';
import type { ServiceTransition, StoredIssue } from './store.js';

export const DAY_MS = 86_400_000;

/** Windows of m365_service_availability_ratio, as the `window` label says them. */
export const AVAILABILITY_WINDOWS = [{ label: '7d', ms: 7 * DAY_MS }, { label: '30d', ms: 30 * DAY_MS }] as const;

/** Statuses of the service (observed) that make time count as unavailable, as an open incident does. */
const UNAVAILABLE_STATUSES: ReadonlySet<string> = new Set(['serviceDegradation', 'serviceInterruption']);

/** The issues of one feature group that touched a day. */
export interface FeatureGroupDay {
  featureGroup: string;
  worstStatus: string;
  incidents: string[];
  advisories: string[];
}

export interface ServiceDay {
  /** UTC day, YYYY-MM-DD. */
  date: string;
  /** The most severe status of the day (src/graph/enums.ts statusSeverity): observed service statuses and the statuses of issues open that day. */
  worstStatus: string;
  incidents: string[];
  advisories: string[];
  featureGroups: FeatureGroupDay[];
}

export interface ServiceHistory {
  serviceId: string;
  serviceName: string;
  days: ServiceDay[];
}

/** The JSON of GET /api/v1/history (README "History and storage"). */
export interface DailyHistory {
  tenant: string;
  days: number;
  generatedAt: string;
  services: ServiceHistory[];
}

interface Segment {
  from: number;
  to: number;
  status: string;
}

/**
 * Per service and UTC day, the last `days` days up to today (today so far): reconstructed from the issues' start and
 * end times with the statuses seen in between, and from the observed service statuses. An issue's status before the
 * exporter first saw it is taken to be the first status seen; a service's status before its first observation is
 * unknown and adds nothing.
 */
export function dailyHistory(input: {
  tenant: string;
  days: number;
  now: number;
  services: ReadonlyArray<{ id: string; name: string }>;
  issues: readonly StoredIssue[];
  transitions: readonly ServiceTransition[];
}): DailyHistory {
  const { now, issues } = input;
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const first = today - (input.days - 1) * DAY_MS;
  const names = new Map(input.services.map((s) => [s.id, s.name]));
  for (const issue of issues) if (!names.has(issue.serviceId)) names.set(issue.serviceId, issue.serviceName);
  for (const t of input.transitions) if (!names.has(t.serviceId)) names.set(t.serviceId, t.serviceId);
  const statusSegments = serviceSegments(input.transitions, now);
  const issueSegments = new Map(issues.map((issue) => [issue.id, segmentsOf(issue, now)]));

  const services = [...names].sort(([a], [b]) => a.localeCompare(b)).map(([serviceId, serviceName]): ServiceHistory => {
    const own = issues.filter((issue) => issue.serviceId === serviceId);
    const observed = statusSegments.get(serviceId) ?? [];
    const days: ServiceDay[] = [];
    for (let day = first; day <= today; day += DAY_MS) {
      const end = Math.min(day + DAY_MS, now);
      const touching = own.filter((issue) => issue.start < end && (issue.end ?? now) >= day);
      const groups = new Map<string, FeatureGroupDay>();
      let worst = 'serviceOperational';
      for (const segment of observed) if (segment.from < end && segment.to > day) worst = worse(worst, segment.status);
      for (const issue of touching) {
        let issueWorst = 'serviceOperational';
        for (const segment of issueSegments.get(issue.id)!) if (segment.from < end && segment.to >= day) issueWorst = worse(issueWorst, segment.status);
        worst = worse(worst, issueWorst);
        let group = groups.get(issue.featureGroup);
        if (!group) groups.set(issue.featureGroup, (group = { featureGroup: issue.featureGroup, worstStatus: 'serviceOperational', incidents: [], advisories: [] }));
        group.worstStatus = worse(group.worstStatus, issueWorst);
        (issue.classification === 'incident' ? group.incidents : group.advisories).push(issue.id);
      }
      days.push({
        date: new Date(day).toISOString().slice(0, 10),
        worstStatus: worst,
        incidents: touching.filter((issue) => issue.classification === 'incident').map((issue) => issue.id),
        advisories: touching.filter((issue) => issue.classification !== 'incident').map((issue) => issue.id),
        featureGroups: [...groups.values()].sort((a, b) => a.featureGroup.localeCompare(b.featureGroup)),
      });
    }
    return { serviceId, serviceName, days };
  });
  return { tenant: input.tenant, days: input.days, generatedAt: new Date(now).toISOString(), services };
}

/**
 * Share of [now - windowMs, now] in which the service was available: not covered by an incident (classification
 * incident as last seen, from its start to its end, or now while open; one whose status is falsePositive is no
 * incident) nor by an observed service status serviceDegradation or serviceInterruption. Advisories do not count.
 * Overlapping periods count once.
 */
export function availability(serviceId: string, issues: readonly StoredIssue[], transitions: readonly ServiceTransition[], now: number, windowMs: number): number {
  const from = now - windowMs;
  const periods: Array<[number, number]> = [];
  for (const issue of issues) {
    if (issue.serviceId !== serviceId || issue.classification !== 'incident' || issue.status === 'falsePositive') continue;
    periods.push([issue.start, issue.end ?? now]);
  }
  for (const segment of serviceSegments(transitions.filter((t) => t.serviceId === serviceId), now).get(serviceId) ?? []) {
    if (UNAVAILABLE_STATUSES.has(segment.status)) periods.push([segment.from, segment.to]);
  }
  let covered = 0;
  let reached = from;
  for (const [start, end] of periods.map(([s, e]): [number, number] => [Math.max(s, from), Math.min(e, now)]).sort((a, b) => a[0] - b[0])) {
    if (end <= reached) continue;
    covered += end - Math.max(start, reached);
    reached = end;
  }
  return 1 - covered / windowMs;
}

/** The more severe of two statuses; on a tie, a named status rather than plain serviceOperational. */
function worse(current: string, candidate: string): string {
  const [a, b] = [statusSeverity(current), statusSeverity(candidate)];
  return b > a || (b === a && current === 'serviceOperational') ? candidate : current;
}

/** Each service's statuses as periods: from one transition to the next, the last one until now. */
function serviceSegments(transitions: readonly ServiceTransition[], now: number): Map<string, Segment[]> {
  const byService = new Map<string, ServiceTransition[]>();
  for (const t of transitions) byService.set(t.serviceId, [...(byService.get(t.serviceId) ?? []), t]);
  return new Map([...byService].map(([id, list]) => {
    const sorted = [...list].sort((a, b) => a.at - b.at);
    return [id, sorted.map((t, i) => ({ from: t.at, to: sorted[i + 1]?.at ?? now, status: t.status }))];
  }));
}

/** An issue's statuses over its span: the first one seen from its start, each later one from when it was seen. */
function segmentsOf(issue: StoredIssue, now: number): Segment[] {
  const end = issue.end ?? now;
  const transitions = issue.transitions.length > 0 ? issue.transitions : [{ at: issue.start, status: issue.status }];
  return transitions.map((t, i) => ({
    from: i === 0 ? issue.start : Math.max(issue.start, t.at),
    to: Math.min(end, transitions[i + 1]?.at ?? end),
    status: t.status,
  })).filter((segment) => segment.to >= segment.from);
}
