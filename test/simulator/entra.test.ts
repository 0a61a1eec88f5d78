import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfidentialClientApplication } from '@azure/msal-node';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimTenantSpec, type Simulator } from '../../simulator/index.js';
import { graph, requestToken, TENANT, trustingNetworkClient } from './helpers.js';

const CERT_TENANT: SimTenantSpec = { tenantId: '22222222-2222-4333-8444-555555555555', clientId: 'cert-app-0000-4ccc-8ddd-eeeeeeeeeeee' };
let sim: Simulator;
let certKeyPem: string;
let certPem: string;

beforeAll(async () => {
  const cert = await generate([{ name: 'commonName', value: 'exporter-client' }], { keySize: 2048, algorithm: 'sha256' });
  certPem = cert.cert;
  certKeyPem = cert.private;
  sim = await startSimulator({ tenants: [TENANT, { ...CERT_TENANT, certificatePem: certPem }] });
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
