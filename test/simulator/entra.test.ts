import { execFile } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimTenantSpec, type Simulator } from '../../simulator/index.js';
import { signRs256, testIssuer } from '../helpers/issuer.js';
import { graph, requestToken, TENANT, trustingNetworkClient } from './helpers.js';

const CERT_TENANT: SimTenantSpec = { tenantId: '22222222-2222-4333-8444-555555555555', clientId: 'cert-app-0000-4ccc-8ddd-eeeeeeeeeeee' };
const issuer = testIssuer();
const FEDERATED_TENANT: SimTenantSpec = {
  tenantId: '33333333-2222-4333-8444-555555555555', clientId: 'fed-app0-0000-4ccc-8ddd-eeeeeeeeeeee', federatedCredentials: [issuer.federatedCredential()],
  managedIdentities: [{ clientId: 'mi-sys00-0000-4ccc-8ddd-eeeeeeeeeeee', system: true }, { clientId: 'mi-user0-0000-4ccc-8ddd-eeeeeeeeeeee' }],
};
let sim: Simulator;
let certKeyPem: string;
let certPem: string;

beforeAll(async () => {
  const cert = await generate([{ name: 'commonName', value: 'exporter-client' }], { keySize: 2048, algorithm: 'sha256' });
  certPem = cert.cert;
  certKeyPem = cert.private;
  sim = await startSimulator({ tenants: [TENANT, { ...CERT_TENANT, certificatePem: certPem }, FEDERATED_TENANT] });
});
afterAll(() => sim.stop());

const host = (): string => new URL(sim.url).host;

function msalApp(auth: { clientId: string; tenantId: string; clientSecret?: string; clientCertificate?: { thumbprintSha256: string; privateKey: string; x5c: string } }) {
  const { tenantId, ...rest } = auth;
  return new ConfidentialClientApplication({
    auth: { ...rest, authority: `${sim.url}/${tenantId}`, knownAuthorities: [host()] },
    system: { networkClient: trustingNetworkClient(sim) },
  });
}

describe('Entra emulation with msal-node', () => {
  it('serves openid-configuration and the token endpoint for a client secret', async () => {
    const before = sim.requests.length;
    const result = await msalApp({ ...TENANT }).acquireTokenByClientCredential({ scopes: [`${sim.url}/.default`] });
    expect(result?.accessToken).toBeTruthy();
    expect(result?.tokenType).toBe('Bearer');
    const calls = sim.requests.slice(before).map((r) => `${r.method} ${r.path} ${r.kind} ${r.status}`);
    expect(calls).toEqual([
      `GET /${TENANT.tenantId}/v2.0/.well-known/openid-configuration discovery 200`,
      `POST /${TENANT.tenantId}/oauth2/v2.0/token token 200`,
    ]);
    const res = await graph(sim, result!.accessToken, 'healthOverviews');
    expect(res.status).toBe(200);
    const claims = JSON.parse(Buffer.from(result!.accessToken.split('.')[1]!, 'base64url').toString());
    expect(claims).toMatchObject({ tid: TENANT.tenantId, appid: TENANT.clientId, roles: ['ServiceHealth.Read.All', 'ServiceMessage.Read.All'], aud: sim.url });
  });

  it('accepts a certificate client assertion (PS256, x5t#S256)', async () => {
    const thumbprintSha256 = new X509Certificate(certPem).fingerprint256.replaceAll(':', '');
    const app = msalApp({ ...CERT_TENANT, clientCertificate: { thumbprintSha256, privateKey: certKeyPem, x5c: certPem } });
    const result = await app.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
    expect(result?.accessToken).toBeTruthy();
    expect((await graph(sim, result!.accessToken, 'issues')).status).toBe(200);
  });

  it('rejects an assertion signed with an unregistered certificate (AADSTS700027)', async () => {
    const other = await generate([{ name: 'commonName', value: 'intruder' }], { keySize: 2048, algorithm: 'sha256' });
    const thumbprintSha256 = new X509Certificate(other.cert).fingerprint256.replaceAll(':', '');
    const app = msalApp({ ...CERT_TENANT, clientCertificate: { thumbprintSha256, privateKey: other.private, x5c: other.cert } });
    await expect(app.acquireTokenByClientCredential({ scopes: [`${sim.url}/.default`] })).rejects.toMatchObject({ errorCode: 'invalid_client', errorMessage: expect.stringContaining('AADSTS700027') });
  });

  it('answers a wrong secret with a real-shaped AAD error (401 AADSTS7000215)', async () => {
    const res = await requestToken(sim, { grant_type: 'client_credentials', client_id: TENANT.clientId, client_secret: 'wrong', scope: `${sim.url}/.default` });
    expect(res.status).toBe(401);
    const body = res.json();
    expect(Object.keys(body).sort()).toEqual(['correlation_id', 'error', 'error_codes', 'error_description', 'error_uri', 'timestamp', 'trace_id']);
    expect(body.error).toBe('invalid_client');
    expect(body.error_codes).toEqual([7000215]);
    expect(body.error_description).toMatch(/^AADSTS7000215: Invalid client secret provided\..*\r\nTrace ID: [0-9a-f-]{36}\r\nCorrelation ID: /s);
    expect(res.text).not.toContain('wrong');
    await expect(msalApp({ ...TENANT, clientSecret: 'wrong' }).acquireTokenByClientCredential({ scopes: [`${sim.url}/.default`] })).rejects.toMatchObject({
      errorCode: 'invalid_client',
    });
  });

  it('answers unknown tenant, unknown client and bad scope like Entra', async () => {
    const form = { grant_type: 'client_credentials', client_id: TENANT.clientId, client_secret: TENANT.clientSecret!, scope: `${sim.url}/.default` };
    const unknownTenant = await requestToken(sim, form, '99999999-0000-4000-8000-000000000000');
    expect([unknownTenant.status, unknownTenant.json().error, unknownTenant.json().error_codes]).toEqual([400, 'invalid_request', [90002]]);
    const unknownClient = await requestToken(sim, { ...form, client_id: 'nope' });
    expect([unknownClient.status, unknownClient.json().error, unknownClient.json().error_codes]).toEqual([400, 'unauthorized_client', [700016]]);
    const badScope = await requestToken(sim, { ...form, scope: 'https://graph.microsoft.com/ServiceHealth.Read.All' });
    expect([badScope.status, badScope.json().error, badScope.json().error_codes]).toEqual([400, 'invalid_scope', [1002012]]);
  });

  it('fails token requests with the scripted AADSTS code until cleared, counting them', async () => {
    const tenant = sim.tenant(TENANT.tenantId);
    const form = { grant_type: 'client_credentials', client_id: TENANT.clientId, client_secret: TENANT.clientSecret!, scope: `${sim.url}/.default` };
    const before = tenant.tokenRequests;
    tenant.setFault({ kind: 'tokenFailure' });
    const failed = await requestToken(sim, form);
    expect(failed.status).toBe(401);
    expect(failed.json()).toMatchObject({ error: 'invalid_client', error_codes: [7000222] });
    expect(failed.json().error_description).toMatch(/^AADSTS7000222: The provided client secret keys for app '.+' are expired/);
    tenant.setFault({ kind: 'tokenFailure', code: 'AADSTS700027' });
    expect((await requestToken(sim, form)).json().error_codes).toEqual([700027]);
    tenant.clearFaults();
    expect((await requestToken(sim, form)).status).toBe(200);
    expect(tenant.tokenRequests - before).toBe(3);
  });

  it("works with msal's default fetch client when the CA is trusted via NODE_EXTRA_CA_CERTS", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-ca-'));
    try {
      const caFile = join(dir, 'ca.pem');
      await writeFile(caFile, sim.caCertPem);
      const script = `
        import { ConfidentialClientApplication } from '@azure/msal-node';
        const app = new ConfidentialClientApplication({ auth: { clientId: process.env.CID, clientSecret: process.env.SECRET,
          authority: process.env.AUTHORITY, knownAuthorities: [new URL(process.env.AUTHORITY).host] } });
        const r = await app.acquireTokenByClientCredential({ scopes: [process.env.SCOPE] });
        process.stdout.write(r.accessToken.split('.').length === 3 ? 'ok' : 'bad');`;
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
        cwd: process.cwd(),
        env: {
          ...process.env,
          NODE_EXTRA_CA_CERTS: caFile,
          CID: TENANT.clientId,
          SECRET: TENANT.clientSecret!,
          AUTHORITY: `${sim.url}/${TENANT.tenantId}`,
          SCOPE: `${sim.url}/.default`,
        },
      });
      expect(stdout).toBe('ok');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('workload identity federation', () => {
  const form = (assertion: string) => ({
    grant_type: 'client_credentials', client_id: FEDERATED_TENANT.clientId, scope: 'https://graph.microsoft.com/.default',
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion,
  });
  const codeOf = async (assertion: string) => {
    const res = await requestToken(sim, form(assertion), FEDERATED_TENANT.tenantId);
    return [res.status, res.json().error_codes?.[0] ?? 'granted'];
  };

  it('exchanges a token of a trusted issuer through msal-node for an app token Graph accepts', async () => {
    const app = new ConfidentialClientApplication({
      auth: { clientId: FEDERATED_TENANT.clientId, authority: `${sim.url}/${FEDERATED_TENANT.tenantId}`, knownAuthorities: [host()], clientAssertion: async () => issuer.token() },
      system: { networkClient: trustingNetworkClient(sim) },
    });
    const result = await app.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
    expect((await graph(sim, result!.accessToken, 'healthOverviews')).status).toBe(200);
    expect(JSON.parse(Buffer.from(result!.accessToken.split('.')[1]!, 'base64url').toString())).toMatchObject({ appid: FEDERATED_TENANT.clientId, appidacr: '2' });
  });

  it('refuses what Entra ID refuses: another subject, issuer or audience (AADSTS70021), a foreign key (700027), an expired token (700024)', async () => {
    expect(await codeOf(issuer.token())).toEqual([200, 'granted']);
    expect(await codeOf(issuer.token({ sub: 'system:serviceaccount:default:default' }))).toEqual([400, 70021]);
    expect(await codeOf(issuer.token({ iss: 'https://oidc.other.example/' }))).toEqual([400, 70021]);
    expect(await codeOf(issuer.token({ aud: 'api://SomethingElse' }))).toEqual([400, 70021]);
    const intruder = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    expect(await codeOf(signRs256(intruder, { iss: issuer.url, sub: issuer.subject, aud: 'api://AzureADTokenExchange', exp: Date.now() / 1000 + 600 }))).toEqual([401, 700027]);
    expect(await codeOf(issuer.token({ exp: Math.floor(Date.now() / 1000) - 3_600 }))).toEqual([401, 700024]);
    const refused = await requestToken(sim, form(issuer.token({ sub: 'system:serviceaccount:default:default' })), FEDERATED_TENANT.tenantId);
    expect(refused.json().error_description).toMatch(/^AADSTS70021: No matching federated identity record found for presented assertion\. Assertion Issuer: 'https:\/\/oidc\.cluster\.example\/[^']+'\. Assertion Subject: 'system:serviceaccount:default:default'\. Assertion Audience: 'api:\/\/AzureADTokenExchange'\./);
  });
});

describe('managed identity endpoint (App Service protocol)', () => {
  // Plain HTTP on the loopback, as App Service's endpoint.
  const ask = async (query: string, header: string | null = sim.managedIdentity.header) => {
    const res = await fetch(`${sim.managedIdentity.endpoint}?${query}`, { headers: header === null ? {} : { 'X-IDENTITY-HEADER': header } });
    const text = await res.text();
    return { status: res.status, json: () => JSON.parse(text) };
  };

  it('issues Graph tokens for the system-assigned identity and a user-assigned one by client id', async () => {
    const tenant = sim.tenant(FEDERATED_TENANT.tenantId);
    const before = tenant.tokenRequests;
    for (const [query, appid] of [['', 'mi-sys00-0000-4ccc-8ddd-eeeeeeeeeeee'], ['&client_id=mi-user0-0000-4ccc-8ddd-eeeeeeeeeeee', 'mi-user0-0000-4ccc-8ddd-eeeeeeeeeeee']]) {
      const res = await ask(`api-version=2019-08-01&resource=https://graph.microsoft.com${query}`);
      expect(res.status).toBe(200);
      const body = res.json();
      expect(body).toMatchObject({ token_type: 'Bearer', resource: 'https://graph.microsoft.com', client_id: appid, expires_on: expect.stringMatching(/^\d+$/) });
      expect(JSON.parse(Buffer.from(body.access_token.split('.')[1], 'base64url').toString())).toMatchObject({ appid, tid: FEDERATED_TENANT.tenantId });
      expect((await graph(sim, body.access_token, 'issues')).status).toBe(200);
    }
    expect(tenant.tokenRequests - before).toBe(2);
  });

  it('refuses a missing or wrong header, an unknown identity, another API version', async () => {
    const graphResource = 'api-version=2019-08-01&resource=https://graph.microsoft.com';
    expect((await ask(graphResource, null)).status).toBe(401);
    expect((await ask(graphResource, 'guess')).status).toBe(401);
    const unknown = await ask(`${graphResource}&client_id=00000000-0000-0000-0000-000000000000`);
    expect([unknown.status, unknown.json().message]).toEqual([400, 'No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId.']);
    expect((await ask('api-version=2018-02-01&resource=https://graph.microsoft.com')).status).toBe(400);
  });
});
