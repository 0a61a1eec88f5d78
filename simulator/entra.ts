/**
 * Entra ID emulation for what msal-node asks when the authority host is in `knownAuthorities` (no instance
 * discovery): GET /{tenant}/v2.0/.well-known/openid-configuration, then POST /{tenant}/oauth2/v2.0/token; and the
 * managed identity endpoint a host offers (GET /msi/token, App Service's protocol).
 */
import { X509Certificate, createPublicKey, randomUUID, timingSafeEqual } from 'node:crypto';
import { certificateThumbprints, decodeJwt, signHs256, verifyRsaSignature } from './jwt.js';
import { findTenant, readBody, sendJson, type RequestContext, type Route, type SimulatorCore } from './http.js';
import type { TenantState } from './tenant.js';
import type { SimFederatedCredential } from './types.js';

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';
export const APP_ROLES = ['ServiceHealth.Read.All', 'ServiceMessage.Read.All'];

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** The audience Entra ID expects in a federated assertion (federatedIdentityCredential.audiences). */
export const TOKEN_EXCHANGE_AUDIENCE = 'api://AzureADTokenExchange';
/** The path of the managed identity endpoint; App Service's is http://127.0.0.1:PORT/msi/token. */
export const MANAGED_IDENTITY_PATH = '/msi/token';
/** App Service's managed identity API version, as msal-node sends it (src/client/ManagedIdentitySources/AppService.ts). */
const APP_SERVICE_API_VERSION = '2019-08-01';
/** Entra tolerates this much clock skew on client assertions. */
const ASSERTION_SKEW_SECONDS = 300;

/** Texts of the AADSTS codes we emit; `{app}`/`{tenant}` are filled in. */
const AADSTS_TEXT: Record<number, string> = {
  90002: "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.",
  900144: "The request body must contain the following parameter: '{param}'.",
  70003: "The app requested an unsupported grant type '{param}'.",
  700016:
    "Application with identifier '{app}' was not found in the directory '{tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
  7000215:
    "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{app}'.",
  7000216: "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
  7000222:
    "The provided client secret keys for app '{app}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
  1002012: "The provided value for scope {param} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
  500011: "The resource principal named {param} was not found in the tenant named {tenant}.",
  50027: 'JWT token is invalid or malformed. {param}',
  700021: "Client assertion application identifier doesn't match 'client_id' parameter.",
  700024: 'Client assertion is not within its valid time range.',
  // Wording of https://azure.github.io/azure-workload-identity/docs/troubleshooting.html
  70021: 'No matching federated identity record found for presented assertion. {param}',
  700027: 'Client assertion failed signature validation. {param}',
};

interface AadFailure {
  status: number;
  error: string;
  code: number;
  param?: string;
  /** Quoted on the description's first line (the `echoRequest` fault). */
  echo?: string;
}

export function entraRoutes(core: SimulatorCore): Route[] {
  return [
    { method: 'GET', pattern: /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/, kind: 'discovery', handle: (ctx, [t]) => openIdConfiguration(core, ctx, t!) },
    { method: 'GET', pattern: /^\/([^/]+)\/discovery\/v2\.0\/keys$/, kind: 'discovery', handle: (ctx) => sendJson(ctx, 200, { keys: [] }) },
    { method: 'POST', pattern: /^\/([^/]+)\/oauth2\/v2\.0\/token$/, kind: 'token', handle: (ctx, [t]) => token(core, ctx, t!) },
  ];
}

function openIdConfiguration(core: SimulatorCore, ctx: RequestContext, tenantKey: string): void {
  const tenant = findTenant(core, tenantKey);
  if (!tenant) return sendAadError(core, ctx, tenantKey, { status: 400, error: 'invalid_tenant', code: 90002 });
  ctx.tenantId = tenant.tenantId;
  const base = `${ctx.baseUrl}/${tenant.tenantId}`;
  sendJson(ctx, 200, {
    token_endpoint: `${base}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${base}/v2.0`,
    request_uri_parameter_supported: false,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    msgraph_host: new URL(ctx.baseUrl).host,
  });
}

async function token(core: SimulatorCore, ctx: RequestContext, tenantKey: string): Promise<void> {
  const tenant = findTenant(core, tenantKey);
  if (!tenant) return sendAadError(core, ctx, tenantKey, { status: 400, error: 'invalid_request', code: 90002 });
  ctx.tenantId = tenant.tenantId;
  tenant.tokenRequestCount += 1;
  const posted = await readBody(ctx.req);
  // Accepted and never answered: the client's own timeout is all that ends the request.
  if (tenant.tokenHangs) return;
  const form = new URLSearchParams(posted);
  const failure = validateTokenRequest(ctx, tenant, form);
  if (failure) return sendAadError(core, ctx, tenant.tenantId, failure, tenant.spec.clientId);

  const resource = form.get('scope')!.trim().replace(/\/\.default$/, '');
  const { accessToken } = issueAccessToken(core, tenant, { appId: tenant.spec.clientId, resource, appidacr: form.has('client_assertion') ? '2' : '1' });
  sendJson(
    ctx,
    200,
    { token_type: 'Bearer', expires_in: core.tokenLifetimeSeconds, ext_expires_in: core.tokenLifetimeSeconds, access_token: accessToken },
    { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' },
  );
}

/** An app-only access token as Entra ID's v1 tokens for Graph look; Graph (graph/pipeline.ts) checks it. */
function issueAccessToken(core: SimulatorCore, tenant: TenantState, app: { appId: string; resource: string; appidacr: string }): { accessToken: string; expiresOn: number } {
  const nowSeconds = Math.floor(core.now().getTime() / 1000);
  const objectId = randomUUID();
  const tokenId = randomUUID();
  tenant.issuedTokenIds.add(tokenId);
  const expiresOn = nowSeconds + core.tokenLifetimeSeconds;
  const accessToken = signHs256(
    {
      aud: app.resource === GRAPH_APP_ID ? GRAPH_RESOURCE : app.resource,
      iss: `https://sts.windows.net/${tenant.tenantId}/`,
      iat: nowSeconds,
      nbf: nowSeconds,
      exp: expiresOn,
      appid: app.appId,
      appidacr: app.appidacr,
      idtyp: 'app',
      oid: objectId,
      sub: objectId,
      roles: APP_ROLES,
      tid: tenant.tenantId,
      uti: tokenId,
      ver: '1.0',
    },
    core.tokenKey,
  );
  return { accessToken, expiresOn };
}

export interface ManagedIdentityHost {
  /** What the host puts in IDENTITY_HEADER. */
  header: string;
  /** The simulated Graph's own origin, a resource as good as https://graph.microsoft.com. */
  graphOrigin(): string;
}

/** The managed identity endpoint a host offers its processes, on plain HTTP as App Service's and IMDS are. */
export function managedIdentityRoutes(core: SimulatorCore, host: ManagedIdentityHost): Route[] {
  return [{ method: 'GET', pattern: new RegExp(`^${MANAGED_IDENTITY_PATH}$`), kind: 'token', handle: (ctx) => managedIdentityToken(core, ctx, host) }];
}

/**
 * App Service's managed identity endpoint (GET IDENTITY_ENDPOINT?api-version=2019-08-01&resource=R[&client_id=C] with
 * X-IDENTITY-HEADER): a token for the system-assigned identity, or for the user-assigned one `client_id` names.
 * https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference
 */
function managedIdentityToken(core: SimulatorCore, ctx: RequestContext, host: ManagedIdentityHost): void {
  const identityHeader = host.header;
  const refuse = (status: number, message: string) => sendJson(ctx, status, { statusCode: status, message, correlationId: randomUUID() });
  const header = ctx.req.headers['x-identity-header'];
  if (typeof header !== 'string' || header.length !== identityHeader.length || !timingSafeEqual(Buffer.from(header), Buffer.from(identityHeader))) {
    return refuse(401, 'The X-IDENTITY-HEADER header is missing or wrong.');
  }
  if (ctx.query.get('api-version') !== APP_SERVICE_API_VERSION) return refuse(400, `api-version must be ${APP_SERVICE_API_VERSION}.`);
  const resource = ctx.query.get('resource');
  if (!resource || ![GRAPH_RESOURCE, GRAPH_APP_ID, host.graphOrigin()].includes(resource)) return refuse(400, `The resource '${resource ?? ''}' is not valid.`);
  const clientId = ctx.query.get('client_id');
  for (const tenant of core.tenants.values()) {
    const identity = tenant.spec.managedIdentities?.find((mi) => (clientId === null ? mi.system : mi.clientId === clientId));
    if (!identity) continue;
    ctx.tenantId = tenant.tenantId;
    tenant.tokenRequestCount += 1;
    if (tenant.tokenHangs) return;
    const { accessToken, expiresOn } = issueAccessToken(core, tenant, { appId: identity.clientId, resource, appidacr: '2' });
    return sendJson(ctx, 200, { access_token: accessToken, expires_on: String(expiresOn), resource, token_type: 'Bearer', client_id: identity.clientId });
  }
  refuse(400, clientId === null
    ? 'No managed identity found: the system-assigned identity is not enabled.'
    : `No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.`);
}

/** Checks in the order Entra reports them: request shape, client, fault, credentials, scope. */
function validateTokenRequest(ctx: RequestContext, tenant: TenantState, form: URLSearchParams): AadFailure | undefined {
  for (const param of ['grant_type', 'client_id', 'scope']) {
    if (!form.get(param)) return { status: 400, error: 'invalid_request', code: 900144, param };
  }
  const grantType = form.get('grant_type')!;
  if (grantType !== 'client_credentials') return { status: 400, error: 'unsupported_grant_type', code: 70003, param: grantType };
  if (form.get('client_id') !== tenant.spec.clientId) return { status: 400, error: 'unauthorized_client', code: 700016, param: form.get('client_id')! };

  const fault = tenant.tokenFault();
  if (fault) {
    const credential = form.has('client_secret') ? `client_secret=${form.get('client_secret')}` : `client_assertion=${form.get('client_assertion')}`;
    return { status: 401, error: 'invalid_client', code: Number((fault.code ?? 'AADSTS7000222').replace(/^AADSTS/i, '')), ...(fault.echoRequest && { echo: credential }) };
  }

  const credentialFailure = checkCredentials(ctx, tenant, form);
  if (credentialFailure) return credentialFailure;

  const scopes = form.get('scope')!.split(' ').filter((s) => s && !['openid', 'profile', 'offline_access'].includes(s));
  const scope = scopes.length === 1 ? scopes[0]! : scopes.join(' ');
  if (!scope.endsWith('/.default') || scopes.length !== 1) return { status: 400, error: 'invalid_scope', code: 1002012, param: scope };
  const resource = scope.slice(0, -'/.default'.length);
  if (![GRAPH_RESOURCE, GRAPH_APP_ID, ctx.baseUrl].includes(resource)) return { status: 400, error: 'invalid_resource', code: 500011, param: resource };
  return undefined;
}

function checkCredentials(ctx: RequestContext, tenant: TenantState, form: URLSearchParams): AadFailure | undefined {
  const secret = form.get('client_secret');
  const assertion = form.get('client_assertion');
  if (secret !== null) {
    const expected = tenant.spec.clientSecret;
    const ok = expected !== undefined && secret.length === expected.length && timingSafeEqual(Buffer.from(secret), Buffer.from(expected));
    return ok ? undefined : { status: 401, error: 'invalid_client', code: 7000215 };
  }
  if (assertion === null) return { status: 401, error: 'invalid_client', code: 7000216 };
  if (form.get('client_assertion_type') !== JWT_BEARER) return { status: 400, error: 'invalid_request', code: 900144, param: 'client_assertion_type' };
  return checkAssertion(ctx, tenant, assertion);
}

/**
 * A client assertion is either the app's own (private_key_jwt per RFC 7523 as msal builds it: iss = sub = client id,
 * signed with a registered certificate) or, when another issuer signed it, a federated one (workload identity
 * federation: a federated identity credential must match its issuer, subject and audience).
 */
function checkAssertion(ctx: RequestContext, tenant: TenantState, assertion: string): AadFailure | undefined {
  const jwt = decodeJwt(assertion);
  if (!jwt) return { status: 401, error: 'invalid_client', code: 50027, param: 'The assertion is not a JWT.' };
  const { iss, sub, aud, exp, nbf } = jwt.claims;
  if (iss !== tenant.spec.clientId) return checkFederatedAssertion(tenant, jwt);
  const certPem = tenant.spec.certificatePem;
  const thumbprints = certPem ? certificateThumbprints(certPem) : undefined;
  const keyMatches = thumbprints && (jwt.header['x5t#S256'] === thumbprints.x5tS256 || jwt.header.x5t === thumbprints.x5t);
  if (!certPem || !keyMatches) {
    return { status: 401, error: 'invalid_client', code: 700027, param: 'The certificate used to sign the client assertion is not registered on the application.' };
  }
  if (!verifyRsaSignature(jwt, new X509Certificate(certPem).publicKey)) return { status: 401, error: 'invalid_client', code: 700027, param: 'The signature does not match.' };
  if (sub !== tenant.spec.clientId) return { status: 401, error: 'invalid_client', code: 700021 };
  if (typeof aud !== 'string' || aud.toLowerCase() !== `${ctx.baseUrl}/${tenant.tenantId}/oauth2/v2.0/token`.toLowerCase()) {
    return { status: 401, error: 'invalid_client', code: 50027, param: 'Invalid audience.' };
  }
  return checkLifetime(exp, nbf);
}

function checkFederatedAssertion(tenant: TenantState, jwt: NonNullable<ReturnType<typeof decodeJwt>>): AadFailure | undefined {
  const { iss, sub, aud, exp, nbf } = jwt.claims;
  const audiences = (Array.isArray(aud) ? aud : [aud]).filter((a): a is string => typeof a === 'string');
  const matches = (fic: SimFederatedCredential) => fic.issuer === iss && fic.subject === sub
    && audiences.some((a) => (fic.audiences ?? [TOKEN_EXCHANGE_AUDIENCE]).includes(a));
  const credential = tenant.spec.federatedCredentials?.find(matches);
  if (!credential) {
    return {
      status: 400, error: 'invalid_request', code: 70021,
      param: `Assertion Issuer: '${String(iss)}'. Assertion Subject: '${String(sub)}'. Assertion Audience: '${audiences.join(',')}'.`,
    };
  }
  if (!verifyRsaSignature(jwt, createPublicKey(credential.publicKeyPem))) {
    return { status: 401, error: 'invalid_client', code: 700027, param: 'The signature does not match the issuer\'s keys.' };
  }
  return checkLifetime(exp, nbf);
}

/** Assertions are stamped by their issuer with the wall clock, so they are checked against it, not the simulated clock. */
function checkLifetime(exp: unknown, nbf: unknown): AadFailure | undefined {
  const wallSeconds = Date.now() / 1000;
  if (typeof exp !== 'number' || exp < wallSeconds - ASSERTION_SKEW_SECONDS || (typeof nbf === 'number' && nbf > wallSeconds + ASSERTION_SKEW_SECONDS)) {
    return { status: 401, error: 'invalid_client', code: 700024 };
  }
  return undefined;
}

function sendAadError(core: SimulatorCore, ctx: RequestContext, tenantId: string, f: AadFailure, clientId = ''): void {
  const now = core.now();
  const timestamp = `${now.toISOString().slice(0, 19).replace('T', ' ')}Z`;
  const text = (AADSTS_TEXT[f.code] ?? 'Client authentication failed.')
    .replace('{tenant}', tenantId)
    .replace('{app}', clientId)
    .replace('{param}', f.param ?? '');
  const traceId = randomUUID();
  sendJson(
    ctx,
    f.status,
    {
      error: f.error,
      error_description: `AADSTS${f.code}: ${text}${f.echo === undefined ? '' : ` Received ${f.echo}.`}\r\nTrace ID: ${traceId}\r\nCorrelation ID: ${ctx.clientRequestId}\r\nTimestamp: ${timestamp}`,
      error_codes: [f.code],
      timestamp,
      trace_id: traceId,
      correlation_id: ctx.clientRequestId,
      error_uri: `${ctx.baseUrl}/error?code=${f.code}`,
    },
    { 'Cache-Control': 'no-store, no-cache', Pragma: 'no-cache' },
  );
}
