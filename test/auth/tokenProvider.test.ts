import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, ProxyAgent } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Outbound } from '../../src/auth/outbound.js';
import { TokenProvider, type TokenRequestResult } from '../../src/auth/tokenProvider.js';
import type { Credential, TenantConfig } from '../../src/config/load.js';
import { Secret } from '../../src/config/secret.js';
import { NetworkError, TimeoutError, TokenError } from '../../src/model/errors.js';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { testIssuer } from '../helpers/issuer.js';

const TENANT = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-00000000000a', clientId: '5a1c0c8e-2222-4b8e-8f3e-00000000000a', clientSecret: 'tokenprovider-test-secret-value' };
const issuer = testIssuer();
const MANAGED_IDENTITY = 'c0ffee00-3333-4444-5555-00000000000a';
const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({
    tenants: [{ ...TENANT, services: 3, federatedCredentials: [issuer.federatedCredential()], managedIdentities: [{ clientId: MANAGED_IDENTITY }] }],
  });
});
afterAll(() => sim.stop());
afterEach(() => sim.tenant(TENANT.tenantId).clearFaults());

/** A provider against the simulator (or `authorityHost`), trusting the simulator's CA, recording what it observes. */
function provider(options: { timeoutMs?: number; authorityHost?: string; credential?: Credential; logger?: never } = {}) {
  const tenant: TenantConfig = {
    name: 't', tenantId: TENANT.tenantId, clientId: TENANT.clientId,
    credential: options.credential ?? { kind: 'secret', secret: new Secret(TENANT.clientSecret) },
    cloud: 'global', authorityHost: options.authorityHost ?? sim.url, graphEndpoint: sim.url, collectors: ['health'], serviceActivity: [],
  };
  const observed: Array<{ result: TokenRequestResult; code?: string }> = [];
  const outbound = new Outbound({ dispatcher: new Agent({ connect: { ca: sim.caCertPem } }), timeoutMs: options.timeoutMs ?? 5_000, maxResponseBytes: 1_048_576 });
  const tokens = new TokenProvider(tenant, {
    onTokenRequest: (result, code) => observed.push({ result, ...(code !== undefined && { code }) }),
    onTokenExpiry: () => undefined,
  }, options.logger ?? silent, outbound);
  return { tokens, observed };
}

const tokenRequests = () => sim.tenant(TENANT.tenantId).tokenRequests;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => {
    throw new Error('expected a rejection');
  }, (e: unknown) => e as Error);
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('token provider', () => {
  it('gets a token once and serves it from the cache', async () => {
    const { tokens, observed } = provider();
    const before = tokenRequests();
    const first = await tokens.getToken();
    expect(await tokens.getToken()).toBe(first);
    expect(tokenRequests() - before).toBe(1);
    expect(observed).toEqual([{ result: 'success' }]);
  });

  it('a token endpoint that accepts and never answers fails within the timeout, as no answer, not as a credential error', async () => {
    const { tokens, observed } = provider({ timeoutMs: 500 });
    sim.tenant(TENANT.tenantId).setFault({ kind: 'tokenHang' });
    const started = Date.now();
    const error = await rejection(tokens.getToken(new AbortController().signal));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ reason: 'timeout' });
    expect(error.message).toBe(`token request for tenant t: no answer from ${sim.url} within 500 ms`);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(observed).toEqual([{ result: 'error' }]);
  });

  it('stops waiting when the caller aborts, and aborts the request once nobody waits', async () => {
    const { tokens, observed } = provider({ timeoutMs: 1_000 });
    sim.tenant(TENANT.tenantId).setFault({ kind: 'tokenHang' });
    const quitter = new AbortController();
    const patient = tokens.getToken(new AbortController().signal);
    const leaving = tokens.getToken(quitter.signal);
    setTimeout(() => quitter.abort(new Error('shutting down')), 50);
    const started = Date.now();
    expect((await rejection(leaving)).message).toBe('shutting down');
    expect(Date.now() - started).toBeLessThan(500);
    // The other caller still waits for the same acquisition, which ends at its own timeout.
    expect(await rejection(patient)).toBeInstanceOf(TimeoutError);
    expect(observed).toEqual([{ result: 'error' }]);

    const everyone = new AbortController();
    const waiting = [tokens.getToken(everyone.signal), tokens.getToken(everyone.signal)];
    setTimeout(() => everyone.abort(new Error('shutting down')), 50);
    for (const one of waiting) expect((await rejection(one)).message).toBe('shutting down');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    // Aborted, not timed out: nothing more was observed.
    expect(observed).toEqual([{ result: 'error' }]);
    sim.tenant(TENANT.tenantId).clearFaults();
    expect(await tokens.getToken(new AbortController().signal)).toMatch(/^ey/);
  });

  it('an authority that refuses connections is a network error naming host and cause, with no AADSTS code', async () => {
    const port = await closedPort();
    const { tokens, observed } = provider({ authorityHost: `https://127.0.0.1:${port}` });
    const error = await rejection(tokens.getToken());
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.message).toBe(`token request for tenant t: cannot reach https://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(observed).toEqual([{ result: 'error' }]);
  });

  it('an authority whose name does not resolve is a network error naming it', async () => {
    const { tokens, observed } = provider({ authorityHost: 'https://login.example.invalid' });
    const error = await rejection(tokens.getToken());
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.message).toBe('token request for tenant t: cannot reach https://login.example.invalid: getaddrinfo ENOTFOUND login.example.invalid');
    expect(observed).toEqual([{ result: 'error' }]);
  });

  it("Entra ID's refusal is a TokenError with the AADSTS code", async () => {
    const { tokens, observed } = provider();
    sim.tenant(TENANT.tenantId).setFault({ kind: 'tokenFailure', code: 'AADSTS7000222' });
    const error = await rejection(tokens.getToken());
    expect(error).toBeInstanceOf(TokenError);
    expect(error).toMatchObject({ reason: 'auth', code: 'AADSTS7000222' });
    expect(error.message).toBe(`token request for tenant t failed: AADSTS7000222: The provided client secret keys for app '${TENANT.clientId}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.`);
    expect(observed).toEqual([{ result: 'failure', code: 'AADSTS7000222' }]);
  });

  it('never quotes the client secret an error description echoes', async () => {
    const { tokens } = provider();
    sim.tenant(TENANT.tenantId).setFault({ kind: 'tokenFailure', code: 'AADSTS50027', echoRequest: true });
    const error = await rejection(tokens.getToken());
    expect(error.message).toMatch(/^token request for tenant t failed: AADSTS50027: JWT token is invalid or malformed\.  Received client_secret=<secret>\.$/);
    expect(error.message).not.toContain(TENANT.clientSecret);
  });

  it('asks Entra ID again, once, when Graph rejects the current token', async () => {
    const { tokens } = provider();
    const revoked = await tokens.getToken();
    const before = tokenRequests();
    sim.tenant(TENANT.tenantId).revokeTokens();
    const [fresh, alsoFresh] = await Promise.all([tokens.getToken(undefined, revoked), tokens.getToken(undefined, revoked)]);
    expect(fresh).not.toBe(revoked);
    expect(alsoFresh).toBe(fresh);
    // A rejection of a token that is no longer current (a request in flight during the renewal) is served the new one.
    expect(await tokens.getToken(undefined, revoked)).toBe(fresh);
    expect(tokenRequests() - before).toBe(1);
  });
});

describe('token provider, federated (workload identity)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'm365-assertion-'));
  const file = join(dir, 'azure-identity-token');
  const federated = (logger?: never) => provider({ credential: { kind: 'federated', assertionFile: file }, logger });

  it('reads the assertion file at every token request, so a rotated token is the one sent', async () => {
    writeFileSync(file, issuer.token());
    const { tokens, observed } = federated();
    const first = await tokens.getToken();
    // The kubelet rewrote the file with a token Entra ID refuses (expired): the next request sends it.
    writeFileSync(file, issuer.token({ exp: Math.floor(Date.now() / 1000) - 3_600 }));
    expect(await tokens.getToken()).toBe(first);
    const refused = await rejection(tokens.getToken(undefined, first));
    expect(refused).toMatchObject({ reason: 'auth', code: 'AADSTS700024' });
    writeFileSync(file, `${issuer.token()}\n`);
    expect(await tokens.getToken(undefined, first)).not.toBe(first);
    expect(observed).toEqual([{ result: 'success' }, { result: 'failure', code: 'AADSTS700024' }, { result: 'success' }]);
  });

  it('sends the last assertion read when the file cannot be read, and says so', async () => {
    writeFileSync(file, issuer.token());
    const warnings: unknown[] = [];
    const { tokens } = federated({ ...silent as object, warn: (fields: unknown) => warnings.push(fields) } as never);
    const first = await tokens.getToken();
    rmSync(file);
    expect(await tokens.getToken(undefined, first)).not.toBe(first);
    expect(warnings).toEqual([{ tenant: 't', file, cause: 'ENOENT' }]);
  });

  it('fails as a credential problem when no assertion was ever read', async () => {
    rmSync(file, { force: true });
    const { tokens, observed } = federated();
    const error = await rejection(tokens.getToken());
    expect(error).toBeInstanceOf(TokenError);
    expect(error).toMatchObject({ reason: 'auth', code: 'credential_unreadable', message: `token request for tenant t: cannot read the client assertion file ${file}: ENOENT` });
    expect(observed).toEqual([{ result: 'failure', code: 'credential_unreadable' }]);
  });

  it('never quotes the assertion an error description echoes', async () => {
    const assertion = issuer.token();
    writeFileSync(file, assertion);
    sim.tenant(TENANT.tenantId).setFault({ kind: 'tokenFailure', code: 'AADSTS50027', echoRequest: true });
    const error = await rejection(federated().tokens.getToken());
    expect(error.message).toMatch(/Received client_assertion=<secret>\.$/);
    expect(error.message).not.toContain(assertion.split('.')[2]);
  });
});

describe('token provider, managed identity', () => {
  // What App Service (or Container Apps) sets for a process; msal-node reads them from process.env.
  beforeAll(() => {
    process.env.IDENTITY_ENDPOINT = sim.managedIdentity.endpoint;
    process.env.IDENTITY_HEADER = sim.managedIdentity.header;
  });
  afterAll(() => {
    delete process.env.IDENTITY_ENDPOINT;
    delete process.env.IDENTITY_HEADER;
  });

  it('gets a token from the host\'s endpoint, directly even when a proxy is configured, cached until Graph rejects it', async () => {
    const closed = await closedPort();
    const tenant: TenantConfig = {
      name: 'mi', tenantId: TENANT.tenantId, credential: { kind: 'managedIdentity', clientId: MANAGED_IDENTITY },
      cloud: 'global', authorityHost: 'https://login.example.invalid', graphEndpoint: sim.url, collectors: ['health'], serviceActivity: [],
    };
    const observed: TokenRequestResult[] = [];
    // Graph's requests would go through this proxy, which refuses connections; the identity endpoint is on the host.
    const outbound = new Outbound({ dispatcher: new ProxyAgent(`http://127.0.0.1:${closed}`), timeoutMs: 5_000, maxResponseBytes: 1_048_576 });
    const tokens = new TokenProvider(tenant, { onTokenRequest: (result) => observed.push(result), onTokenExpiry: () => undefined }, silent, outbound);
    const before = tokenRequests();
    const token = await tokens.getToken();
    expect(JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())).toMatchObject({ appid: MANAGED_IDENTITY, tid: TENANT.tenantId, aud: sim.url });
    expect(await tokens.getToken()).toBe(token);
    expect(await tokens.getToken(undefined, token)).not.toBe(token);
    expect(tokenRequests() - before).toBe(2);
    expect(observed).toEqual(['success', 'success']);
    expect(sim.requests.filter((r) => r.path === '/msi/token').map((r) => [r.query['client_id'], r.query['resource'], r.status]))
      .toEqual([[MANAGED_IDENTITY, sim.url, 200], [MANAGED_IDENTITY, sim.url, 200]]);
  });

  it('an identity the host does not have is a credential failure with the endpoint\'s status', async () => {
    const tenant: TenantConfig = {
      name: 'mi', tenantId: TENANT.tenantId, credential: { kind: 'managedIdentity', clientId: 'deadbeef-3333-4444-5555-00000000000a' },
      cloud: 'global', authorityHost: 'https://login.example.invalid', graphEndpoint: sim.url, collectors: ['health'], serviceActivity: [],
    };
    const observed: Array<[TokenRequestResult, string | undefined]> = [];
    const outbound = new Outbound({ dispatcher: new Agent(), timeoutMs: 5_000, maxResponseBytes: 1_048_576 });
    const tokens = new TokenProvider(tenant, { onTokenRequest: (result, code) => observed.push([result, code]), onTokenExpiry: () => undefined }, silent, outbound);
    const error = await rejection(tokens.getToken());
    expect(error).toMatchObject({ reason: 'auth', code: 'http_400' });
    expect(error.message).toBe('token request for tenant mi failed: http_400: No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.');
    expect(error.message).not.toContain(sim.managedIdentity.header);
    expect(observed).toEqual([['failure', 'http_400']]);
  });
});
