/** Public types of the simulated Microsoft Graph tenant. */
import type { ServiceActivityAnomalyKind } from './serviceActivityCatalogue.js';

export type { ServiceActivityAnomalyKind } from './serviceActivityCatalogue.js';

/** One simulated Entra tenant with one app registration. */
export interface SimTenantSpec {
  /** GUID-like tenant id; the authority is `${url}/${tenantId}`. */
  tenantId: string;
  clientId: string;
  /** When set, `client_secret` authentication is accepted. */
  clientSecret?: string;
  /** When set, `client_assertion` JWTs signed with this certificate's key are accepted (x5t#S256 or x5t header). */
  certificatePem?: string;
  /**
   * Federated identity credentials of the app registration (workload identity federation): a `client_assertion` whose
   * `iss` and `sub` equal one's `issuer` and `subject`, whose `aud` holds one of its `audiences`, that is within its
   * lifetime and signed (RS256) with `publicKeyPem` is accepted. Entra ID fetches the issuer's keys from its OpenID
   * configuration; here the test hands the key over.
   */
  federatedCredentials?: SimFederatedCredential[];
  /**
   * Managed identities of the tenant, served at `Simulator.managedIdentity.endpoint` (App Service's protocol): the one
   * with `system: true` answers requests without `client_id`, the others requests naming their `clientId`.
   */
  managedIdentities?: Array<{ clientId: string; system?: boolean }>;
  /**
   * `'default'`: a realistic catalogue of real M365 services with history; a number N: N synthetic services
   * (`Svc001`…, "Synthetic Service 001"…), no history, for paging tests.
   * @default 'default'
   */
  services?: 'default' | number;
  /**
   * `'realistic'`: sized like a large production tenant, for benchmarks: 40 services (leave `services` unset), 40
   * issues started within the last 7 days (incidents and advisories, open and resolved, with feature groups), 60 older
   * resolved issues and 300 message-center posts (every category and severity, deadlines ahead, major changes),
   * drawn from one catalogue the simulator's tenants share (SimulatorOptions.realisticContent). Deterministic per
   * tenant id; times are relative to the simulator's clock when it starts.
   * @default unset: `services` decides, with a little history for the default catalogue
   */
  profile?: 'realistic';
  /**
   * Licensed users: scales the Monitoring API (serviceActivity) counts.
   * @default 300–6000, stable per tenant id
   */
  users?: number;
}

export interface SimFederatedCredential {
  /** e.g. an AKS cluster's OIDC issuer URL */
  issuer: string;
  /** e.g. `system:serviceaccount:monitoring:m365-exporter` */
  subject: string;
  /** @default ['api://AzureADTokenExchange'] */
  audiences?: string[];
  /** The issuer's RS256 signing key (public part, PEM). */
  publicKeyPem: string;
}

export interface SimulatorOptions {
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 0 (ephemeral) */
  port?: number;
  tenants: SimTenantSpec[];
  /** @default 3600 */
  tokenLifetimeSeconds?: number;
  /**
   * Rate limits answered with 429: service communications 240 req/60 s and 800 req/h per app and tenant;
   * Monitoring API (`/beta/reports/serviceActivity`) 100 req/10 min per app, tenant and function. @default true
   */
  enforceThrottling?: boolean;
  /**
   * Monitoring API late data: a bucket is final this long after it ends; younger buckets answer partial counts
   * that grow on later reads. @default 1200 (20 minutes)
   */
  serviceActivitySettleSeconds?: number;
  /**
   * The `realistic` profile's posts and issues: `'shared'`, one catalogue for all tenants (one id, one text), as
   * Microsoft publishes them; `'per-tenant'`, a catalogue per tenant (the same ids, other texts), the worst case for
   * memory. @default 'shared'
   */
  realisticContent?: 'shared' | 'per-tenant';
  /** Clock for data, issued tokens and throttling windows. @default () => new Date() */
  now?: () => Date;
  /** Extra DNS names for the TLS certificate (e.g. a docker-compose service name); 127.0.0.1 and localhost are always included. */
  tlsDnsNames?: string[];
}

export interface SimRequestLogEntry {
  time: Date;
  tenantId?: string;
  method: string;
  /** Path without query string. */
  path: string;
  /** Decoded query parameters. */
  query: Record<string, string>;
  status: number;
  kind: 'token' | 'discovery' | 'graph';
}

export interface Simulator {
  /** `https://127.0.0.1:PORT`: both the Entra authority host and the Graph endpoint. */
  url: string;
  /** PEM of the self-signed server certificate, to be trusted by clients (NODE_EXTRA_CA_CERTS or `ca`). */
  caCertPem: string;
  /**
   * The managed identity endpoint, as Azure App Service offers it to a process: what msal-node reads from
   * IDENTITY_ENDPOINT and IDENTITY_HEADER (a random secret per simulator, sent back in X-IDENTITY-HEADER).
   */
  managedIdentity: { endpoint: string; header: string };
  tenant(tenantId: string): SimTenant;
  readonly requests: SimRequestLogEntry[];
  stop(): Promise<void>;
}

/** What a fault's `endpoint` can target; `serviceActivity` is every Monitoring API function. */
export type GraphEndpointName = 'healthOverviews' | 'issues' | 'messages' | 'serviceActivity';

export type Fault =
  /**
   * The next `count` Graph requests answer 429 with Retry-After (fractional allowed); `count` undefined: every request
   * until cleared (a throttling storm). `retryAfter` sends that header value verbatim instead, for clients that must
   * survive a broken one (`-5`, `soon`).
   */
  | { kind: 'throttle'; count?: number; retryAfterSeconds?: number; retryAfter?: string; endpoint?: GraphEndpointName }
  /** `count` undefined: until cleared (an outage). */
  | { kind: 'serverError'; count?: number; status?: 500 | 503 | 504; endpoint?: GraphEndpointName }
  /** `count` undefined: until cleared. */
  | { kind: 'slow'; delayMs: number; count?: number; endpoint?: GraphEndpointName }
  /** `count` undefined: until cleared. */
  | { kind: 'malformedJson'; count?: number; endpoint?: GraphEndpointName }
  /**
   * Token endpoint answers 401 invalid_client with this AADSTS code until cleared. `echoRequest`: the description's
   * first line quotes the credential the client posted (client_secret or client_assertion), as a broken identity
   * provider might.
   * @default code 'AADSTS7000222'
   */
  | { kind: 'tokenFailure'; code?: string; echoRequest?: boolean }
  /** Token endpoint reads the request and never answers, until cleared (requests already hanging stay so). */
  | { kind: 'tokenHang' }
  /** 403 Authorization_RequestDenied until cleared. */
  | { kind: 'forbidden'; endpoint?: GraphEndpointName }
  /**
   * Hostile answers, as from a compromised or misconfigured gateway in front of Graph. `count` undefined: until cleared.
   * `redirect`: the status with this Location instead of the data.
   */
  | { kind: 'redirect'; status: 301 | 302 | 303 | 307 | 308; location: string; count?: number; endpoint?: GraphEndpointName }
  /** 200 with a valid JSON body of `bytes` bytes (an empty `value` and a long padding string), streamed. */
  | { kind: 'oversizedBody'; bytes: number; count?: number; endpoint?: GraphEndpointName }
  /**
   * 200 with `Content-Encoding: gzip` and about 1 KB on the wire per MiB it inflates to: `{"value":[` + spaces +
   * `]}` in gzip members of 1 MiB each (RFC 1952 §2.2 allows a sequence of members), valid JSON once inflated.
   */
  | { kind: 'gzipBomb'; inflatedBytes: number; count?: number; endpoint?: GraphEndpointName }
  /** 400 BadRequest whose message quotes the request line and headers, the bearer token included. */
  | { kind: 'echoRequest'; count?: number; endpoint?: GraphEndpointName };

export interface OpenIssueInput {
  id?: string;
  serviceId: string;
  classification: 'incident' | 'advisory' | string;
  /** @default 'investigating' */
  status?: string;
  title: string;
  feature?: string;
  featureGroup?: string;
  /** @default 'microsoft' */
  origin?: string;
  impactDescription?: string;
  /** The first post's HTML, as Microsoft would send it (hostile markup for feed tests). @default a "Title: … User Impact: …" post */
  post?: string;
}

export type IssuePatch = Partial<{ status: string; title: string; classification: string; featureGroup: string; feature: string }>;

export type IssueTemplate = Partial<{ serviceId: string; classification: string; status: string; title: string }>;

export interface AddMessageInput {
  id?: string;
  title: string;
  /** @default 'stayInformed' */
  category?: string;
  /** @default 'normal' */
  severity?: string;
  /** @default false */
  isMajorChange?: boolean;
  actionRequiredByDateTime?: Date | null;
  endDateTime?: Date | null;
  /** Service display names. @default ['Microsoft 365 suite'] */
  services?: string[];
  tags?: string[];
  /** The body's HTML. @default `<p>${title}</p>` */
  body?: string;
}

/** Scriptable state of one simulated tenant. */
export interface SimTenant {
  readonly services: Array<{ id: string; service: string; status: string }>;
  /** Any string is accepted, to test unknown enum members. */
  setServiceStatus(serviceId: string, status: string): void;
  /** Returns the new id (e.g. EX700001); the first post is added. Incidents also set the service status. */
  openIssue(issue: OpenIssueInput): string;
  /** Bumps lastModifiedDateTime and adds a post. */
  updateIssue(id: string, patch: IssuePatch): void;
  /** isResolved=true, endDateTime=now. @param finalStatus @default 'serviceRestored' */
  resolveIssue(id: string, finalStatus?: string): void;
  /** Status becomes postIncidentReviewPublished and the incident report becomes downloadable. */
  publishPir(id: string): void;
  /** Bulk resolved historical issues (paging tests). */
  addIssues(count: number, template?: IssueTemplate): void;
  /** Returns the new id (e.g. MC800001). */
  addMessage(msg: AddMessageInput): string;
  addMessages(count: number): void;
  /**
   * Monitoring API (serviceActivity) availability. `false` plays a cloud that does not offer the API (e.g. a
   * national cloud): every function answers 404 "Resource not found for the segment 'serviceActivity'". @default true
   */
  setServiceActivityAvailability(available: boolean): void;
  /**
   * Permission not granted: the matching functions answer 403 Authorization_RequestDenied until allowed again.
   * Key: a workload (`exchange`, `teams`, `m365_apps`, `onedrive`, `entra`, `global_secure_access`, `agent_id`),
   * a function name or a permission (`Reports.Read.All`, `ServiceActivity-Teams.Read.All`, …); case-insensitive.
   * Throws on a key that names nothing.
   */
  denyServiceActivity(workloadOrFunction: string): void;
  /** Undoes `denyServiceActivity` for the key, or for everything when no key is given. */
  allowServiceActivity(workloadOrFunction?: string): void;
  /**
   * From now on the affected function's values drop (`null` ends it; a new kind replaces the current one):
   * `mfaSuccessDrop` MFA sign-in success counts × 0.2; `exchangeConnectivityDrop` Exchange connectivity ≈ 70 %;
   * `teamsAudioQualityDrop` Teams audio QoE and audio-over-UDP ≈ 60 %. Buckets before the switch keep their values.
   * `since` backdates the switch, so settled buckets already show it (the demo cannot wait for 5-minute buckets to
   * settle); it must not be earlier than the previous switch.
   * @param options.since @default now
   */
  setServiceActivityAnomaly(kind: ServiceActivityAnomalyKind | null, options?: { since?: Date }): void;
  readonly serviceActivityAnomaly: ServiceActivityAnomalyKind | null;
  /**
   * Revokes every access token issued so far (as continuous access evaluation does after a credential or policy
   * change): Graph answers them 401 InvalidAuthenticationToken; tokens issued later are accepted.
   */
  revokeTokens(): void;
  /** Replaces any fault of the same kind. */
  setFault(fault: Fault): void;
  clearFaults(): void;
  /** Successful and failed token requests for this tenant. */
  readonly tokenRequests: number;
}
