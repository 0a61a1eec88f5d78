/**
 * The `realistic` tenant profile (SimTenantSpec.profile): the volume a large production tenant answers with, so
 * benchmarks measure the exporter on it. 40 issues started within the last 7 days (incidents and advisories, open and
 * resolved, with feature groups), 60 older resolved ones, and 300 message-center posts.
 *
 * As in a real fleet, Microsoft publishes each post and each issue once: one id, one text, to every tenant that has the
 * service. So the posts and issues come from one catalogue per simulator (400 posts, 60 recent and 90 older issues),
 * and each tenant sees a subset of it that is stable per tenant id (300, 40 and 60). Times are relative to the
 * simulator's clock when it starts. `realisticContent: 'per-tenant'` gives each tenant a catalogue of its own (the
 * same ids with other texts), the worst case for an exporter sharing what tenants share.
 */
import { serviceCatalogue, type CatalogueService } from './catalogue.js';
import { hashString, SeededRandom, unit } from './random.js';
import type { IssuePost, KeyValuePair, ServiceHealthIssue, ServiceUpdateMessage } from './tenant.js';
import type { SimulatorOptions } from './types.js';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;
const at = (ms: number): string => new Date(ms).toISOString();

/** What each tenant sees, of the catalogue's. */
const RECENT_ISSUES = { tenant: 40, catalogue: 60 };
const OLDER_ISSUES = { tenant: 60, catalogue: 90 };
const MESSAGES = { tenant: 300, catalogue: 400 };
/** Generated ids count from here; issues and posts added later (openIssue, addMessage) count from 700001/800001. */
const FIRST_ID_NUMBER = 600001;

const OPEN_STATUSES = {
  incident: ['investigating', 'serviceDegradation', 'serviceInterruption', 'restoringService', 'extendedRecovery'],
  advisory: ['investigating', 'serviceDegradation', 'verifyingService', 'investigationSuspended'],
};
const RESOLVED_STATUSES = {
  incident: ['serviceRestored', 'serviceRestored', 'postIncidentReviewPublished', 'falsePositive'],
  advisory: ['serviceRestored', 'serviceRestored', 'falsePositive'],
};

/** [feature group, feature] pairs as the live service names them; services not listed use the generic ones. */
const FEATURES: Record<string, Array<[string, string]>> = {
  Exchange: [['E-Mail and calendar access', 'Outlook on the web'], ['E-Mail timely delivery', 'Mailflow - delayed delivery from Internet'], ['Management and Provisioning', 'Exchange admin center']],
  SharePoint: [['SharePoint Features', 'Search'], ['SharePoint Features', 'Document libraries'], ['Provisioning', 'Site creation']],
  microsoftteams: [['Teams Components', 'Meetings'], ['Teams Components', 'Chat (Teams)'], ['Teams Components', 'Calling']],
  OneDriveForBusiness: [['OneDrive for Business', 'Sync client'], ['OneDrive for Business', 'Sharing']],
  OrgLiveID: [['Authentication', 'Multi-factor authentication'], ['Authentication', 'Sign-in']],
  Intune: [['Device management', 'Windows enrollment'], ['Device management', 'App deployment']],
};
const GENERIC_FEATURES: Array<[string, string]> = [['Administration', 'Admin center'], ['Portal', 'Web access'], ['Service features', 'Core functionality'], ['Sign-in', 'Authentication']];

const ISSUE_TITLES = {
  incident: [
    (feature: string) => `Users may be unable to use ${feature}`,
    (feature: string) => `Users can't access ${feature}`,
    (feature: string) => `Admins may be unable to manage ${feature}`,
  ],
  advisory: [
    (feature: string) => `Some users may see intermittent issues with ${feature}`,
    (feature: string) => `Users may notice delays when using ${feature}`,
    (feature: string) => `A small number of users may see errors in ${feature}`,
  ],
};

const MESSAGE_CHANGES = [
  'New admin controls for external sharing', 'Retirement of a legacy reporting endpoint', 'Updated default retention settings',
  'New feature rolling out to Targeted release', 'Changes to license assignment in the admin center', 'Upcoming change to sign-in experience',
  'Security update for connected apps', 'New usage reports available', 'Deprecation of basic authentication for a protocol',
  'Improved search in the admin center',
];
const MESSAGE_TAGS = ['Updated message', 'Admin impact', 'User impact', 'New feature', 'Feature update', 'Retirement', 'Data privacy'];

export interface RealisticHistory {
  issues: ServiceHealthIssue[];
  messages: ServiceUpdateMessage[];
}

interface Catalogue {
  recentIssues: ServiceHealthIssue[];
  olderIssues: ServiceHealthIssue[];
  messages: ServiceUpdateMessage[];
}

/**
 * A tenant's issues and posts, by tenant id, all drawn from one catalogue made at the first call (`'shared'`), or each
 * from a catalogue of the tenant's own. Each call returns fresh objects: scenarios change one tenant's issues.
 */
export function realisticFleet(content: NonNullable<SimulatorOptions['realisticContent']>, nowMs: number): (tenantId: string) => RealisticHistory {
  let shared: Catalogue | undefined;
  return (tenantId) => {
    const catalogue = content === 'shared' ? (shared ??= realisticCatalogue('fleet', nowMs)) : realisticCatalogue(tenantId.toLowerCase(), nowMs);
    const seed = hashString(`${tenantId.toLowerCase()}|realistic subset`);
    return structuredClone({
      issues: [...subset(catalogue.recentIssues, RECENT_ISSUES.tenant, seed), ...subset(catalogue.olderIssues, OLDER_ISSUES.tenant, seed)],
      messages: subset(catalogue.messages, MESSAGES.tenant, seed),
    });
  };
}

function realisticCatalogue(seed: string, nowMs: number): Catalogue {
  const services = serviceCatalogue('realistic');
  const random = new SeededRandom(hashString(`${seed}|realistic`));
  const issues = Array.from({ length: RECENT_ISSUES.catalogue + OLDER_ISSUES.catalogue }, (_, i) => issue(random, services, nowMs, i));
  return {
    recentIssues: issues.slice(0, RECENT_ISSUES.catalogue),
    olderIssues: issues.slice(RECENT_ISSUES.catalogue),
    messages: Array.from({ length: MESSAGES.catalogue }, (_, i) => message(random, services, nowMs, i)),
  };
}

/** `count` of the items, in their order, chosen by a draw per item that is stable for the seed. */
function subset<T>(items: readonly T[], count: number, seed: number): T[] {
  const chosen = new Set(items.map((_, i) => i).sort((a, b) => unit(seed, a) - unit(seed, b)).slice(0, count));
  return items.filter((_, i) => chosen.has(i));
}

/** Issues 0–59 started within the last 7 days (every 4th still open); 60–149 started 8–90 days ago, all resolved. */
function issue(random: SeededRandom, services: readonly CatalogueService[], nowMs: number, i: number): ServiceHealthIssue {
  const recent = i < RECENT_ISSUES.catalogue;
  const classification = i % 5 < 2 ? 'incident' : 'advisory';
  const open = recent && i % 4 === 0;
  const svc = random.pick(services);
  const [featureGroup, feature] = random.pick(FEATURES[svc.id] ?? GENERIC_FEATURES);
  const title = random.pick(ISSUE_TITLES[classification])(feature);
  const impactDescription = `${title}. ${classification === 'incident' ? 'Users are affected.' : 'The impact is limited.'}`;

  const start = open ? nowMs - random.int(10 * MINUTE_MS, 2 * DAY_MS)
    : recent ? nowMs - random.int(13 * HOUR_MS, 7 * DAY_MS - HOUR_MS)
      : nowMs - random.int(8 * DAY_MS, 90 * DAY_MS);
  const end = open ? null : start + random.int(20 * MINUTE_MS, 12 * HOUR_MS);
  const status = random.pick(open ? OPEN_STATUSES[classification] : RESOLVED_STATUSES[classification]);
  const lastModified = end ?? start + random.int(0, nowMs - start);
  const post = (ms: number, content: string): IssuePost => ({ createdDateTime: at(ms), postType: 'regular', description: { contentType: 'html', content } });

  const posts = [post(start, `Title: ${title}<br><br>User Impact: ${impactDescription}<br><br>Current status: We're investigating this issue.`)];
  if (lastModified - start > HOUR_MS) posts.push(post(start + (lastModified - start) / 2, `Current status: ${status}. We're reviewing service telemetry to isolate the cause.`));
  if (end !== null) posts.push(post(end, `Final status: We've confirmed that the issue is resolved (${status}).`));
  return {
    startDateTime: at(start),
    endDateTime: end === null ? null : at(end),
    lastModifiedDateTime: at(lastModified),
    title,
    id: `${svc.issuePrefix}${FIRST_ID_NUMBER + i}`,
    impactDescription,
    classification,
    origin: 'microsoft',
    status,
    service: svc.service,
    feature,
    featureGroup,
    isResolved: !open,
    details: random.chance(0.5) ? [{ name: 'NotifyInApp', value: 'True' }] : [],
    posts,
  };
}

/**
 * Every 12th post is a plan-for-change with an action-required date ahead, every 20th (from the 5th) a major change;
 * the rest draw category, severity, deadline and major change, so every mix occurs.
 */
function message(random: SeededRandom, services: readonly CatalogueService[], nowMs: number, i: number): ServiceUpdateMessage {
  const dueSoon = i % 12 === 0;
  const category = dueSoon ? 'planForChange' : random.pick(['stayInformed', 'stayInformed', 'planForChange', 'preventOrFixIssue']);
  const severity = dueSoon ? 'high' : random.pick(['normal', 'normal', 'normal', 'normal', 'normal', 'normal', 'high', 'high', 'critical']);
  const isMajorChange = i % 20 === 5 || random.chance(0.1);
  const start = nowMs - random.int(DAY_MS, 180 * DAY_MS);
  const actionRequiredBy = dueSoon ? nowMs + random.int(3 * DAY_MS, 90 * DAY_MS)
    : category !== 'stayInformed' && random.chance(0.4) ? start + random.int(14 * DAY_MS, 200 * DAY_MS) : null;
  const named = Array.from({ length: random.int(1, 3) }, () => random.pick(services).service);
  const title = `${named[0]}: ${random.pick(MESSAGE_CHANGES)}`;
  const tags = [...new Set([...(actionRequiredBy !== null ? ['Action required'] : []), random.pick(MESSAGE_TAGS), random.pick(MESSAGE_TAGS)])];
  const details: KeyValuePair[] = random.chance(0.3) ? [{ name: 'ExternalLink', value: 'https://learn.microsoft.com/microsoft-365/' }] : [];
  return {
    startDateTime: at(start),
    endDateTime: at(start + random.int(60 * DAY_MS, 270 * DAY_MS)),
    lastModifiedDateTime: at(start + random.int(0, nowMs - start)),
    title,
    id: `MC${FIRST_ID_NUMBER + i}`,
    category,
    severity,
    tags,
    isMajorChange,
    actionRequiredByDateTime: actionRequiredBy === null ? null : at(actionRequiredBy),
    services: [...new Set(named)],
    details,
    body: {
      contentType: 'html',
      content: `<p>${title}.</p><p>[When this will happen:] Rollout begins ${at(start + 30 * DAY_MS).slice(0, 10)}.</p>`
        + '<p>[How this will affect your organization:] Admins and users may notice the change.</p>'
        + '<p>[What you need to do to prepare:] Review your settings and update your documentation as needed.</p>',
    },
    viewPoint: null,
    hasAttachments: false,
  };
}
