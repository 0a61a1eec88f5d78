/** v1.0 service communications: /admin/serviceAnnouncement/{healthOverviews,issues,messages} (ref §3). */
import type { Route, SimulatorCore } from '../http.js';
import type { ServiceHealth, ServiceHealthIssue, TenantState } from '../tenant.js';
import {
  applyFilter,
  applyOrderBy,
  GraphError,
  pageOf,
  parseFilter,
  parseSelect,
  project,
  unknownProperty,
  type EntityType,
} from './odata.js';
import { graphHandler, SlidingWindowLimiter, type GraphRequest, type GraphResult } from './pipeline.js';


const SERVICE_HEALTH: EntityType = { name: 'microsoft.graph.serviceHealth', properties: ['id', 'service', 'status', 'issues'], unfilterable: ['issues'] };
const ISSUE: EntityType = {
  name: 'microsoft.graph.serviceHealthIssue',
  properties: [
    'id', 'title', 'startDateTime', 'endDateTime', 'lastModifiedDateTime', 'details', 'impactDescription', 'classification',
    'status', 'origin', 'service', 'feature', 'featureGroup', 'isResolved', 'posts',
  ],
  unfilterable: ['details', 'posts'],
};
const MESSAGE: EntityType = {
  name: 'microsoft.graph.serviceUpdateMessage',
  properties: [
    'id', 'title', 'startDateTime', 'endDateTime', 'lastModifiedDateTime', 'details', 'category', 'severity', 'tags',
    'isMajorChange', 'actionRequiredByDateTime', 'services', 'body', 'viewPoint', 'hasAttachments',
  ],
  unfilterable: ['details', 'tags', 'services', 'body', 'viewPoint'],
};

/** Stands in for the report file; the real format is not documented (commonly a PDF). */
const PIR_BYTES = (id: string): Buffer => Buffer.from(`%PDF-1.4\n% Simulated post-incident review for ${id}\n%%EOF\n`);

export function serviceAnnouncementRoutes(core: SimulatorCore): Route[] {
  // 240 requests / 60 s and 800 / hour per app per tenant across all of /admin/serviceAnnouncement/ (ref §7).
  const limiter = new SlidingWindowLimiter([
    { limit: 240, windowMs: 60_000 },
    { limit: 800, windowMs: 3_600_000 },
  ]);
  const route = (pattern: RegExp, endpoint: 'healthOverviews' | 'issues' | 'messages', handle: (g: GraphRequest) => GraphResult): Route => ({
    method: 'GET',
    pattern,
    kind: 'graph',
    handle: graphHandler(core, { endpoint, limiter }, handle),
  });
  return [
    route(/^\/v1\.0\/admin\/serviceAnnouncement\/healthOverviews\/?$/, 'healthOverviews', listHealthOverviews),
    route(/^\/v1\.0\/admin\/serviceAnnouncement\/healthOverviews\/([^/]+)$/, 'healthOverviews', getHealthOverview),
    route(/^\/v1\.0\/admin\/serviceAnnouncement\/issues\/?$/, 'issues', listIssues),
    route(/^\/v1\.0\/admin\/serviceAnnouncement\/issues\/([^/]+)$/, 'issues', getIssue),
    route(/^\/v1\.0\/admin\/serviceAnnouncement\/issues\/([^/]+)\/(?:microsoft\.graph\.)?incidentReport(?:\(\))?$/, 'issues', getIncidentReport),
    route(/^\/v1\.0\/admin\/serviceAnnouncement\/messages\/?$/, 'messages', listMessages),
    route(/^\/v1\.0\/admin\/serviceAnnouncement\/messages\/([^/]+)$/, 'messages', getMessage),
  ];
}

function contextUrl(g: GraphRequest, set: string, select: string[] | undefined, expandIssues = false, entity = false): string {
  const shape = select ? `(${[...select.filter((p) => p !== 'issues'), ...(expandIssues ? ['issues()'] : [])].join(',')})` : expandIssues ? '(issues())' : '';
  return `${g.ctx.baseUrl}/v1.0/$metadata#admin/serviceAnnouncement/${set}${shape}${entity ? '/$entity' : ''}`;
}

/** `$expand=issues` is the only expansion on serviceHealth; the issues are those of that service. */
function expandsIssues(g: GraphRequest, type: EntityType): boolean {
  const raw = g.ctx.query.get('$expand');
  if (raw === null) return false;
  for (const name of raw.split(',').map((s) => s.trim())) {
    if (type !== SERVICE_HEALTH || name !== 'issues') throw unknownProperty(type, name);
  }
  return true;
}

function withIssues(tenant: TenantState, svc: ServiceHealth): { issues: ServiceHealthIssue[] } {
  return { issues: tenant.issues.filter((i) => i.service === svc.service) };
}

function listHealthOverviews(g: GraphRequest): GraphResult {
  const select = parseSelect(g.ctx.query, SERVICE_HEALTH);
  const expand = expandsIssues(g, SERVICE_HEALTH);
  const services = applyOrderBy(applyFilter(g.tenant.services, parseFilter(g.ctx.query, SERVICE_HEALTH)), g.ctx.query, SERVICE_HEALTH);
  const items = services.map((s) => project({ ...s }, select, expand ? withIssues(g.tenant, s) : {}));
  const page = pageOf(g.ctx, items, contextUrl(g, 'healthOverviews', select, expand));
  return { json: page.body, headers: page.headers };
}

function getHealthOverview(g: GraphRequest): GraphResult {
  const select = parseSelect(g.ctx.query, SERVICE_HEALTH);
  const expand = expandsIssues(g, SERVICE_HEALTH);
  const key = g.params[0]!;
  const svc = g.tenant.findService(key);
  if (!svc) throw notFound(`The service '${key}' was not found.`);
  return { json: { '@odata.context': contextUrl(g, 'healthOverviews', select, expand, true), ...project({ ...svc }, select, expand ? withIssues(g.tenant, svc) : {}) } };
}

function listIssues(g: GraphRequest): GraphResult {
  return list(g, 'issues', ISSUE, g.tenant.issues);
}

function listMessages(g: GraphRequest): GraphResult {
  return list(g, 'messages', MESSAGE, g.tenant.messages);
}

function list(g: GraphRequest, set: string, type: EntityType, all: object[]): GraphResult {
  const select = parseSelect(g.ctx.query, type);
  expandsIssues(g, type);
  const items = applyOrderBy(applyFilter(all, parseFilter(g.ctx.query, type)), g.ctx.query, type).map((e) => project(structuredClone(e) as Record<string, unknown>, select));
  const page = pageOf(g.ctx, items, contextUrl(g, set, select));
  return { json: page.body, headers: page.headers };
}

function getIssue(g: GraphRequest): GraphResult {
  const select = parseSelect(g.ctx.query, ISSUE);
  const issue = g.tenant.findIssue(g.params[0]!);
  if (!issue) throw notFound(`The issue '${g.params[0]}' was not found.`);
  return { json: { '@odata.context': contextUrl(g, 'issues', select, false, true), ...project(structuredClone(issue) as unknown as Record<string, unknown>, select) } };
}

/** The report exists only once the issue reached postIncidentReviewPublished (ref §3 #5). */
function getIncidentReport(g: GraphRequest): GraphResult {
  const issue = g.tenant.findIssue(g.params[0]!);
  if (!issue) throw notFound(`The issue '${g.params[0]}' was not found.`);
  if (issue.status !== 'postIncidentReviewPublished') throw notFound(`The post-incident report for issue '${issue.id}' was not found.`);
  return { raw: PIR_BYTES(issue.id), contentType: 'application/octet-stream' };
}

function getMessage(g: GraphRequest): GraphResult {
  const select = parseSelect(g.ctx.query, MESSAGE);
  const message = g.tenant.findMessage(g.params[0]!);
  if (!message) throw notFound(`The message '${g.params[0]}' was not found.`);
  return { json: { '@odata.context': contextUrl(g, 'messages', select, false, true), ...project(structuredClone(message) as unknown as Record<string, unknown>, select) } };
}

function notFound(message: string): GraphError {
  return new GraphError(404, 'itemNotFound', message);
}
