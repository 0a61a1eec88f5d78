import { CLASSIFICATIONS, ORIGINS, SERVICE_HEALTH_STATUSES, canonicalEnum, statusSeverity } from '../graph/enums.js';
import { serviceHealthIssueSchema } from '../graph/resources.js';
import { METRICS } from '../model/metrics.js';
import { readServiceAnnouncement, type Sourced } from './serviceAnnouncement.js';
import { bodyHtml } from './body.js';
import { intern, SharedItems } from './intern.js';
import type { Collector } from './types.js';

/** Classifications that always get a series (0 when none is open), so `== 0` and absent() behave. */
export const CLASSIFICATIONS_EXPORTED = ['incident', 'advisory'] as const;

/**
 * One issue as Graph gave it. Times are milliseconds since the epoch: numbers, not Date objects, since a fleet's
 * snapshots hold hundreds of thousands of them. Frozen and shared by the tenants that see the same issue
 * (./intern.ts, SharedItems).
 */
export interface Issue {
  readonly id: string;
  readonly serviceName: string;
  readonly title: string;
  readonly classification: string;
  readonly status: string;
  readonly origin: string;
  readonly feature: string;
  readonly featureGroup: string;
  readonly isResolved: boolean;
  readonly start: number;
  readonly end: number | null;
  readonly lastModified: number;
  readonly impactDescription: string;
  /** Microsoft's updates, oldest first: read by the legacy Messages[] and the Atom feed, not by metrics. */
  readonly posts: readonly IssuePost[];
}

export interface IssuePost {
  /** Milliseconds since the epoch. */
  readonly published: number;
  /** The post's description as HTML, unsanitized (src/collectors/body.ts). */
  readonly html: string;
}

export interface IssuesSnapshot extends Sourced {
  issues: Issue[];
  /** Every id Graph returned, to tell issues that are new since the previous refresh. */
  ids: Set<string>;
}


/** Past the issues a fleet sees within Graph's memory of them, with room to spare. */
const sharedIssues = new SharedItems<Issue>(20_000);

/**
 * `GET /admin/serviceAnnouncement/issues`: incidents and advisories, open and recently resolved. Replaces the
 * legacy CurrentStatus (open issues), HistoricalStatus (resolved ones, kept for `issueRetention`) and the
 * incident part of Messages.
 */
export interface IssuesSettings {
  /** How long resolved issues stay exported, in milliseconds. */
  retention: number;
}

export const issuesCollector: Collector<IssuesSnapshot, IssuesSettings> = {
  name: 'issues',
  readsServices: true,

  async fetch(context, previous) {
    const read = await readServiceAnnouncement(context, 'issues', serviceHealthIssueSchema, previous);
    // The same issues as last time: none is new, and `write` applies the retention to the time it is given.
    if (!read) return previous!;
    const before = new Map(previous?.issues.map((issue) => [issue.id, issue]));
    const issues = read.items.map((item) => sharedIssues.share({
      id: intern(item.id),
      serviceName: intern(item.service ?? ''),
      title: intern(item.title ?? ''),
      classification: canonicalEnum(item.classification, CLASSIFICATIONS),
      status: canonicalEnum(item.status, SERVICE_HEALTH_STATUSES),
      origin: canonicalEnum(item.origin, ORIGINS),
      feature: intern(item.feature ?? ''),
      featureGroup: intern(item.featureGroup ?? ''),
      isResolved: item.isResolved === true,
      start: Date.parse(item.startDateTime),
      end: item.endDateTime ? Date.parse(item.endDateTime) : null,
      lastModified: Date.parse(item.lastModifiedDateTime),
      impactDescription: intern(item.impactDescription ?? ''),
      posts: (item.posts ?? [])
        .map((post) => ({ published: Date.parse(post.createdDateTime), html: bodyHtml(post.description) }))
        .sort((a, b) => a.published - b.published),
    }, before.get(item.id)));
    const ids = new Set(issues.map((issue) => issue.id));
    if (previous !== undefined) {
      // The first refresh is the baseline: counting it would fake a burst of new issues at every restart.
      for (const issue of issues) {
        if (!previous.ids.has(issue.id)) {
          context.count(METRICS.issuesObserved, { service_id: context.view.serviceIdOf(issue.serviceName), classification: issue.classification }, 1);
        }
      }
    }
    // Every issue Graph returned, also those resolved before issueRetention: `write` leaves them out, and the history
    // (src/history/) keeps them, so a lost store is rebuilt as far back as Graph remembers.
    return { issues, ids, source: read.source };
  },

  write(snapshot, view, out, now, settings) {
    const horizon = now.getTime() - settings.retention;
    const openCounts = new Map<string, Map<string, number>>();
    for (const service of view.services) {
      openCounts.set(service.id, new Map(CLASSIFICATIONS_EXPORTED.map((c) => [c, 0])));
    }
    const worstByFeatureGroup = new Map<string, { serviceId: string; featureGroup: string; status: string }>();

    for (const issue of snapshot.issues) {
      if (issue.isResolved && (issue.end ?? issue.lastModified) < horizon) continue;
      const serviceId = view.serviceIdOf(issue.serviceName);
      out.add(METRICS.issueInfo, {
        service_id: serviceId, issue_id: issue.id, classification: issue.classification, status: issue.status,
        origin: issue.origin, feature_group: issue.featureGroup, feature: issue.feature, title: issue.title,
        resolved: String(issue.isResolved),
      }, 1);
      out.add(METRICS.issueStart, { issue_id: issue.id }, issue.start / 1_000);
      out.add(METRICS.issueLastUpdate, { issue_id: issue.id }, issue.lastModified / 1_000);
      if (issue.isResolved) continue;

      const counts = openCounts.get(serviceId) ?? new Map(CLASSIFICATIONS_EXPORTED.map((c) => [c, 0]));
      counts.set(issue.classification, (counts.get(issue.classification) ?? 0) + 1);
      openCounts.set(serviceId, counts);

      const key = `${serviceId}\u0000${issue.featureGroup}`;
      const worst = worstByFeatureGroup.get(key);
      if (!worst || statusSeverity(issue.status) > statusSeverity(worst.status)) {
        worstByFeatureGroup.set(key, { serviceId, featureGroup: issue.featureGroup, status: issue.status });
      }
    }

    for (const [serviceId, counts] of openCounts) {
      for (const [classification, count] of counts) out.add(METRICS.issuesOpen, { service_id: serviceId, classification }, count);
    }
    for (const group of worstByFeatureGroup.values()) {
      out.add(METRICS.featureGroupStatus, { service_id: group.serviceId, feature_group: group.featureGroup, status: group.status }, 1);
    }
  },
};
