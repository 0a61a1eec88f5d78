/** State of one simulated tenant, kept in Graph wire shape so the OData layer can select/filter it directly. */
import { serviceCatalogue, type CatalogueService } from './catalogue.js';
import type { RealisticHistory } from './realistic.js';
import {
  defaultUsers,
  functionsMatching,
  SERVICE_ACTIVITY_ANOMALY_KINDS,
  type ActivitySource,
  type AnomalyPeriod,
  type ServiceActivityAnomalyKind,
} from './serviceActivityCatalogue.js';
import type {
  AddMessageInput,
  Fault,
  GraphEndpointName,
  IssuePatch,
  IssueTemplate,
  OpenIssueInput,
  SimTenant,
  SimTenantSpec,
} from './types.js';

export interface KeyValuePair {
  name: string;
  value: string | null;
}
export interface ItemBody {
  contentType: 'html' | 'text';
  content: string | null;
}
export interface IssuePost {
  createdDateTime: string;
  postType: string;
  description: ItemBody;
}
export interface ServiceHealthIssue {
  startDateTime: string;
  endDateTime: string | null;
  lastModifiedDateTime: string;
  title: string;
  id: string;
  impactDescription: string;
  classification: string;
  origin: string;
  status: string;
  service: string;
  feature: string | null;
  featureGroup: string | null;
  isResolved: boolean;
  details: KeyValuePair[];
  posts: IssuePost[];
}
export interface ServiceUpdateMessage {
  startDateTime: string;
  endDateTime: string | null;
  lastModifiedDateTime: string;
  title: string;
  id: string;
  category: string;
  severity: string;
  tags: string[];
  isMajorChange: boolean;
  actionRequiredByDateTime: string | null;
  services: string[];
  details: KeyValuePair[];
  body: ItemBody;
  viewPoint: null;
  hasAttachments: boolean;
}
export interface ServiceHealth {
  id: string;
  service: string;
  status: string;
}

type GraphFault = Exclude<Fault, { kind: 'tokenFailure' | 'tokenHang' }>;
type Countable = { count?: number };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export class TenantState implements SimTenant, ActivitySource {
  readonly spec: SimTenantSpec;
  readonly issues: ServiceHealthIssue[] = [];
  readonly messages: ServiceUpdateMessage[] = [];
  tokenRequestCount = 0;
  /** `uti` claims of the access tokens issued, and of those revoked (`revokeTokens`). */
  readonly issuedTokenIds = new Set<string>();
  readonly revokedTokenIds = new Set<string>();
  /** Monitoring API state (see SimTenant): availability, denied function names, anomaly history. */
  serviceActivityAvailable = true;
  readonly serviceActivityDenied = new Set<string>();
  readonly anomalies: AnomalyPeriod[] = [];
  private readonly catalogue: CatalogueService[];
  private readonly statusById = new Map<string, string>();
  private readonly faults = new Map<Fault['kind'], Fault>();
  private nextIssueNumber = 700001;
  private nextMessageNumber = 800001;

  constructor(
    spec: SimTenantSpec,
    private readonly now: () => Date,
    private readonly realistic: (tenantId: string) => RealisticHistory,
  ) {
    this.spec = spec;
    if (spec.profile === 'realistic' && spec.services !== undefined) {
      throw new Error(`simulated tenant ${spec.tenantId}: profile 'realistic' brings its own 40 services; leave services unset`);
    }
    this.catalogue = serviceCatalogue(spec.profile ?? spec.services ?? 'default');
    for (const s of this.catalogue) this.statusById.set(s.id, 'serviceOperational');
    if (spec.profile === 'realistic') this.seedRealistic();
    else if ((spec.services ?? 'default') === 'default') this.seedHistory();
  }

  get tenantId(): string {
    return this.spec.tenantId;
  }

  get services(): ServiceHealth[] {
    return this.catalogue.map((s) => ({ id: s.id, service: s.service, status: this.statusById.get(s.id) ?? 'serviceOperational' }));
  }

  get tokenRequests(): number {
    return this.tokenRequestCount;
  }

  get users(): number {
    return this.spec.users ?? defaultUsers(this.spec.tenantId);
  }

  get serviceActivityAnomaly(): ServiceActivityAnomalyKind | null {
    const last = this.anomalies.at(-1);
    return last && last.toMs === undefined ? last.kind : null;
  }

  setServiceActivityAvailability(available: boolean): void {
    this.serviceActivityAvailable = available;
  }

  denyServiceActivity(workloadOrFunction: string): void {
    for (const name of this.requireActivityKey(workloadOrFunction)) this.serviceActivityDenied.add(name);
  }

  allowServiceActivity(workloadOrFunction?: string): void {
    if (workloadOrFunction === undefined) return this.serviceActivityDenied.clear();
    for (const name of this.requireActivityKey(workloadOrFunction)) this.serviceActivityDenied.delete(name);
  }

  setServiceActivityAnomaly(kind: ServiceActivityAnomalyKind | null, options: { since?: Date } = {}): void {
    if (kind !== null && !SERVICE_ACTIVITY_ANOMALY_KINDS.includes(kind)) {
      throw new Error(`unknown serviceActivity anomaly '${String(kind)}'; known: ${SERVICE_ACTIVITY_ANOMALY_KINDS.join(', ')}`);
    }
    if (kind === this.serviceActivityAnomaly) return;
    const atMs = (options.since ?? this.now()).getTime();
    const last = this.anomalies.at(-1);
    // A backdated switch must not reach into an earlier period: the data model looks up the one a minute falls in.
    if (options.since && last && atMs < (last.toMs ?? last.fromMs)) {
      throw new Error(`serviceActivity anomaly switch at ${new Date(atMs).toISOString()} is earlier than the previous one (${new Date(last.toMs ?? last.fromMs).toISOString()})`);
    }
    if (last && last.toMs === undefined) last.toMs = atMs;
    if (kind !== null) this.anomalies.push({ kind, fromMs: atMs });
  }

  /** Looks a service up by id or display name, case-insensitively (docs use both as key, ref §10.8). */
  findService(key: string): ServiceHealth | undefined {
    const k = key.toLowerCase();
    return this.services.find((s) => s.id.toLowerCase() === k || s.service.toLowerCase() === k);
  }

  findIssue(id: string): ServiceHealthIssue | undefined {
    const k = id.toLowerCase();
    return this.issues.find((i) => i.id.toLowerCase() === k);
  }

  findMessage(id: string): ServiceUpdateMessage | undefined {
    const k = id.toLowerCase();
    return this.messages.find((m) => m.id.toLowerCase() === k);
  }

  setServiceStatus(serviceId: string, status: string): void {
    this.requireService(serviceId);
    this.statusById.set(serviceId, status);
  }

  openIssue(input: OpenIssueInput): string {
    const svc = this.requireService(input.serviceId);
    const now = this.now().toISOString();
    const issue: ServiceHealthIssue = {
      startDateTime: now,
      endDateTime: null,
      lastModifiedDateTime: now,
      title: input.title,
      id: input.id ?? `${svc.issuePrefix}${this.nextIssueNumber++}`,
      impactDescription: input.impactDescription ?? `Users may be affected by: ${input.title}`,
      classification: input.classification,
      origin: input.origin ?? 'microsoft',
      status: input.status ?? 'investigating',
      service: svc.service,
      feature: input.feature ?? null,
      featureGroup: input.featureGroup ?? null,
      isResolved: false,
      details: [{ name: 'NotifyInApp', value: 'True' }],
      posts: [],
    };
    if (this.findIssue(issue.id)) throw new Error(`issue ${issue.id} already exists`);
    this.addPost(issue, input.post ?? `Title: ${issue.title}<br><br>User Impact: ${issue.impactDescription}<br><br>Current status: We're investigating this issue.`);
    this.issues.push(issue);
    this.syncServiceStatus(svc.id);
    return issue.id;
  }

  updateIssue(id: string, patch: IssuePatch): void {
    const issue = this.requireIssue(id);
    Object.assign(issue, patch);
    issue.lastModifiedDateTime = this.now().toISOString();
    this.addPost(issue, `Current status: ${issue.status}. We'll provide an update within 30 minutes.`);
    this.syncServiceStatus(this.serviceIdOf(issue));
  }

  resolveIssue(id: string, finalStatus = 'serviceRestored'): void {
    const issue = this.requireIssue(id);
    const now = this.now().toISOString();
    Object.assign(issue, { status: finalStatus, isResolved: true, endDateTime: now, lastModifiedDateTime: now });
    this.addPost(issue, `Final status: We've confirmed that the issue is resolved (${finalStatus}).`);
    this.syncServiceStatus(this.serviceIdOf(issue));
  }

  publishPir(id: string): void {
    const issue = this.requireIssue(id);
    issue.status = 'postIncidentReviewPublished';
    issue.lastModifiedDateTime = this.now().toISOString();
    this.addPost(issue, 'A post-incident report has been published.');
  }

  addIssues(count: number, template: IssueTemplate = {}): void {
    const services = template.serviceId ? [this.requireService(template.serviceId)] : this.catalogue;
    const now = this.now().getTime();
    for (let i = 0; i < count; i++) {
      const svc = services[i % services.length]!;
      const start = new Date(now - (i + 2) * HOUR_MS).toISOString();
      const end = new Date(now - (i + 1) * HOUR_MS).toISOString();
      const issue: ServiceHealthIssue = {
        startDateTime: start,
        endDateTime: end,
        lastModifiedDateTime: end,
        title: `${template.title ?? 'Historical issue'} ${i + 1}`,
        id: `${svc.issuePrefix}${this.nextIssueNumber++}`,
        impactDescription: 'Users may have been unable to access the service.',
        classification: template.classification ?? (i % 2 === 0 ? 'incident' : 'advisory'),
        origin: 'microsoft',
        status: template.status ?? 'serviceRestored',
        service: svc.service,
        feature: null,
        featureGroup: null,
        isResolved: true,
        details: [],
        posts: [{ createdDateTime: start, postType: 'regular', description: { contentType: 'html', content: 'Historical issue.' } }],
      };
      this.issues.push(issue);
    }
  }

  addMessage(msg: AddMessageInput): string {
    const now = this.now().toISOString();
    const id = msg.id ?? `MC${this.nextMessageNumber++}`;
    if (this.findMessage(id)) throw new Error(`message ${id} already exists`);
    this.messages.push({
      startDateTime: now,
      endDateTime: msg.endDateTime?.toISOString() ?? null,
      lastModifiedDateTime: now,
      title: msg.title,
      id,
      category: msg.category ?? 'stayInformed',
      severity: msg.severity ?? 'normal',
      tags: msg.tags ?? [],
      isMajorChange: msg.isMajorChange ?? false,
      actionRequiredByDateTime: msg.actionRequiredByDateTime?.toISOString() ?? null,
      services: msg.services ?? ['Microsoft 365 suite'],
      details: [],
      body: { contentType: 'html', content: msg.body ?? `<p>${msg.title}</p>` },
      // Always null under application permissions (ref §2.5).
      viewPoint: null,
      hasAttachments: false,
    });
    return id;
  }

  addMessages(count: number): void {
    const categories = ['stayInformed', 'planForChange', 'preventOrFixIssue'];
    for (let i = 0; i < count; i++) {
      this.addMessage({ title: `Synthetic message ${i + 1}`, category: categories[i % categories.length] });
    }
  }

  setFault(fault: Fault): void {
    this.faults.set(fault.kind, { ...fault });
  }

  clearFaults(): void {
    this.faults.clear();
  }

  tokenFault(): Extract<Fault, { kind: 'tokenFailure' }> | undefined {
    return this.faults.get('tokenFailure') as Extract<Fault, { kind: 'tokenFailure' }> | undefined;
  }

  get tokenHangs(): boolean {
    return this.faults.has('tokenHang');
  }

  revokeTokens(): void {
    for (const id of this.issuedTokenIds) this.revokedTokenIds.add(id);
    this.issuedTokenIds.clear();
  }

  /** Returns the active fault of this kind for the endpoint and consumes one of its `count`, if counted. */
  takeFault<K extends GraphFault['kind']>(kind: K, endpoint: GraphEndpointName): Extract<GraphFault, { kind: K }> | undefined {
    const fault = this.faults.get(kind) as (Extract<GraphFault, { kind: K }> & Countable) | undefined;
    if (!fault || (fault.endpoint !== undefined && fault.endpoint !== endpoint)) return undefined;
    if (fault.count !== undefined) {
      if (fault.count <= 0) return undefined;
      fault.count -= 1;
      if (fault.count === 0) this.faults.delete(kind);
    }
    return fault;
  }

  private addPost(issue: ServiceHealthIssue, content: string): void {
    issue.posts.push({ createdDateTime: this.now().toISOString(), postType: 'regular', description: { contentType: 'html', content } });
  }

  /** Incidents drive the service's overall status, as on the live service; advisories do not. */
  private syncServiceStatus(serviceId: string): void {
    const svc = this.requireService(serviceId);
    const incidents = this.issues.filter((i) => i.service === svc.service && i.classification === 'incident');
    const open = incidents.filter((i) => !i.isResolved).at(-1);
    const latest = open ?? incidents.at(-1);
    if (latest) this.statusById.set(svc.id, latest.status);
  }

  private serviceIdOf(issue: ServiceHealthIssue): string {
    return this.catalogue.find((s) => s.service === issue.service)!.id;
  }

  private requireService(serviceId: string): CatalogueService {
    const svc = this.catalogue.find((s) => s.id === serviceId);
    if (!svc) throw new Error(`unknown service id '${serviceId}'`);
    return svc;
  }

  private requireActivityKey(key: string): string[] {
    const names = functionsMatching(key);
    if (names.length === 0) throw new Error(`'${key}' names no serviceActivity workload, function or permission`);
    return names;
  }

  private requireIssue(id: string): ServiceHealthIssue {
    const issue = this.findIssue(id);
    if (!issue) throw new Error(`unknown issue '${id}'`);
    return issue;
  }

  /** The `realistic` profile's issues and posts (simulator/realistic.ts); open incidents set their service's status. */
  private seedRealistic(): void {
    const { issues, messages } = this.realistic(this.spec.tenantId);
    this.issues.push(...issues);
    this.messages.push(...messages);
    for (const issue of issues.filter((i) => i.classification === 'incident' && !i.isResolved)) this.syncServiceStatus(this.serviceIdOf(issue));
  }

  /** A little realistic history: two resolved issues and a handful of message-center posts. */
  private seedHistory(): void {
    const now = this.now().getTime();
    const at = (ms: number): string => new Date(now + ms).toISOString();
    const post = (t: number, content: string): IssuePost => ({ createdDateTime: at(t), postType: 'regular', description: { contentType: 'html', content } });
    this.issues.push(
      {
        startDateTime: at(-10 * DAY_MS),
        endDateTime: at(-10 * DAY_MS + 6 * HOUR_MS),
        lastModifiedDateTime: at(-7 * DAY_MS),
        title: 'Limited number of users unable to send or receive email through the Exchange Online service',
        id: `EX${this.nextIssueNumber++}`,
        impactDescription: 'Users may have been unable to send or receive email through the Exchange Online service.',
        classification: 'incident',
        origin: 'microsoft',
        status: 'postIncidentReviewPublished',
        service: 'Exchange Online',
        feature: 'Mailflow - delayed delivery from Internet',
        featureGroup: 'E-Mail timely delivery',
        isResolved: true,
        details: [{ name: 'NotifyInApp', value: 'True' }],
        posts: [
          post(-10 * DAY_MS, 'Title: Limited number of users unable to send or receive email<br><br>User Impact: Users may be unable to send or receive email.'),
          post(-10 * DAY_MS + 6 * HOUR_MS, 'Final status: We have deployed a fix and confirmed that mail flow is restored.'),
          post(-7 * DAY_MS, 'A post-incident report has been published.'),
        ],
      },
      {
        startDateTime: at(-3 * DAY_MS),
        endDateTime: at(-2 * DAY_MS),
        lastModifiedDateTime: at(-2 * DAY_MS),
        title: 'Some users may see delays when syncing document libraries',
        id: `SP${this.nextIssueNumber++}`,
        impactDescription: 'Users may have experienced delays when syncing document libraries.',
        classification: 'advisory',
        origin: 'microsoft',
        status: 'serviceRestored',
        service: 'SharePoint Online',
        feature: 'SharePoint Features',
        featureGroup: 'SharePoint Features',
        isResolved: true,
        details: [],
        posts: [post(-3 * DAY_MS, 'Title: Some users may see delays when syncing document libraries.')],
      },
    );
    const seeds: AddMessageInput[] = [
      { title: '(Updated) New feature: Changes to PowerPoint and Word to open files faster', isMajorChange: true, services: ['SharePoint Online', 'OneDrive for Business'], tags: ['Updated message'] },
      { title: 'Action required: Update your Exchange Online PowerShell module', category: 'planForChange', severity: 'high', actionRequiredByDateTime: new Date(now + 30 * DAY_MS), services: ['Exchange Online'], tags: ['Admin impact', 'Action required'] },
      { title: 'Microsoft Teams: New meeting recap experience', services: ['Microsoft Teams'], tags: ['User impact', 'New feature'] },
      { title: 'Retirement of legacy Intune reporting endpoints', category: 'planForChange', isMajorChange: true, actionRequiredByDateTime: new Date(now + 60 * DAY_MS), services: ['Microsoft Intune'], tags: ['Retirement'] },
      { title: 'Prevent or fix issue: Security update for Microsoft 365 apps', category: 'preventOrFixIssue', severity: 'critical', services: ['Microsoft 365 apps'] },
    ];
    for (const seed of seeds) this.addMessage(seed);
  }
}
