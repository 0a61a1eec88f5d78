/**
 * Secretless sign-in end to end (README "Secretless sign-in"): the built exporter as a process against the
 * simulator, which verifies federated client assertions (issuer, subject, audience, lifetime, signature with the
 * key of test/helpers/issuer.ts) and serves a managed identity endpoint as App Service does.
 * - Workload identity federation from the config file (clientAssertionFile): the token file is read again when
 *   Entra ID is asked again, so a rotated file is taken in without a restart or reload.
 * - The environment AKS workload identity injects (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID,
 *   AZURE_AUTHORITY_HOST), without a config file.
 * - A managed identity through IDENTITY_ENDPOINT / IDENTITY_HEADER, reached directly while Graph goes through the
 *   configured proxy.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { startConnectProxy } from '../helpers/connectProxy.js';
import { parseExposition, select, value, type ParsedSample } from '../helpers/exposition.js';
import { startExporter } from '../helpers/exporterProcess.js';
import { testIssuer } from '../helpers/issuer.js';
import { waitFor } from '../helpers/wait.js';

const issuer = testIssuer();
const FEDERATED = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000041', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000041' };
const ON_AZURE = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000042', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000042' };
const SYSTEM_IDENTITY = 'a11ce000-3333-4444-5555-000000000042';
const USER_IDENTITY = 'b0b00000-3333-4444-5555-000000000042';
const now = () => Math.floor(Date.now() / 1_000);

let sim: Simulator;
const dir = mkdtempSync(join(tmpdir(), 'm365-secretless-'));

beforeAll(async () => {
  sim = await startSimulator({
    tenants: [
      { ...FEDERATED, services: 3, federatedCredentials: [issuer.federatedCredential()] },
      { ...ON_AZURE, services: 2, managedIdentities: [{ clientId: SYSTEM_IDENTITY, system: true }, { clientId: USER_IDENTITY }] },
    ],
  });
  writeFileSync(join(dir, 'ca.pem'), sim.caCertPem);
});
afterAll(() => sim?.stop());

/** The parts of a token request the simulator logged for a tenant, by status. */
const tokenStatuses = (tenantId: string) => sim.requests.filter((r) => r.kind === 'token' && r.tenantId === tenantId).map((r) => r.status);

describe('workload identity federation', () => {
  it('signs in with the projected token file, and takes in the rotated file at the next token request', async () => {
    const tokenFile = join(dir, 'azure-identity-token');
    writeFileSync(tokenFile, issuer.token());
    const exporter = await startExporter({
      refresh: { health: '1s', issues: '1s', messages: '1s' },
      tenants: [{ name: 'federated', ...FEDERATED, clientAssertionFile: tokenFile, authorityHost: sim.url, graphEndpoint: sim.url }],
    }, sim.caCertPem);
    try {
      const samples = () => exporter.samples();
      // Each group of series is rendered when it changes: wait for both the data and the token counter.
      await waitFor('the federated tenant\'s services and its token request', async () => {
        const now = await samples();
        return select(now, 'm365_service_info', { tenant: 'federated' }).length === 3 && value(now, 'm365_exporter_token_requests_total', { tenant: 'federated', result: 'success' }) === 1;
      });
      expect(select(await samples(), 'm365_exporter_credential_expiry_timestamp_seconds', { tenant: 'federated' })).toEqual([]);

      // The kubelet rewrote the file, but with a token Entra ID refuses; the revoked access token makes the exporter ask.
      writeFileSync(tokenFile, issuer.token({ iat: now() - 7_200, nbf: now() - 7_200, exp: now() - 3_600 }));
      sim.tenant(FEDERATED.tenantId).revokeTokens();
      await waitFor('Entra ID to refuse the expired assertion, and the refresh to fail as auth', async () => {
        const refused = await samples();
        return value(refused, 'm365_exporter_token_error_info', { tenant: 'federated', error_code: 'AADSTS700024' }) === 1
          && value(refused, 'm365_exporter_collector_success', { tenant: 'federated', collector: 'health' }) === 0
          && value(refused, 'm365_exporter_collector_errors_total', { tenant: 'federated', collector: 'health', reason: 'auth' })! > 0;
      });

      // A good token in the file: taken in by the next token request, no restart or reload.
      writeFileSync(tokenFile, `${issuer.token()}\n`);
      await waitFor('the rotated assertion to sign in again', async () => {
        const now = await samples();
        return select(now, 'm365_exporter_token_error_info', { tenant: 'federated' }).length === 0 && value(now, 'm365_exporter_collector_success', { tenant: 'federated', collector: 'health' }) === 1;
      });
      expect(tokenStatuses(FEDERATED.tenantId).at(-1)).toBe(200);
      expect(tokenStatuses(FEDERATED.tenantId)).toContain(401);
      const shown = `${exporter.logs.join('\n')}\n${await exporter.scrape()}`;
      expect(shown).toContain('AADSTS700024');
      // No assertion, whole or in part, in the log or the metrics.
      expect(shown).not.toMatch(/eyJ[\w-]{20,}/);
    } finally {
      await exporter.stop();
    }
  });

  it('runs from the environment AKS workload identity injects, without a config file', async () => {
    const tokenFile = join(dir, 'injected-token');
    writeFileSync(tokenFile, issuer.token());
    const env = {
      AZURE_FEDERATED_TOKEN_FILE: tokenFile, AZURE_CLIENT_ID: FEDERATED.clientId, AZURE_TENANT_ID: FEDERATED.tenantId,
      // As the webhook writes it, with a trailing slash.
      AZURE_AUTHORITY_HOST: `${sim.url}/`, M365_GRAPH_ENDPOINT: sim.url, M365_TENANT_NAME: 'aks',
    };
    const exporter = await startFromEnvironment(env);
    try {
      // Each group of series is rendered when it changes: wait for both the data and the token counter.
      await waitFor('the tenant of the injected variables', async () => {
        const samples = await exporter.samples();
        return select(samples, 'm365_service_info', { tenant: 'aks' }).length === 3 && value(samples, 'm365_exporter_token_requests_total', { tenant: 'aks', result: 'success' }) === 1;
      });
    } finally {
      await exporter.stop();
    }
  });
});

describe('managed identity', () => {
  it('gets its token from the host\'s identity endpoint, directly, while Graph goes through the proxy', async () => {
    const proxy = await startConnectProxy();
    const before = sim.requests.length;
    const exporter = await startExporter({
      proxy: { url: proxy.url },
      tenants: [{ name: 'on-azure', tenantId: ON_AZURE.tenantId, managedIdentity: { clientId: USER_IDENTITY }, graphEndpoint: sim.url }],
    }, sim.caCertPem, [], { IDENTITY_ENDPOINT: sim.managedIdentity.endpoint, IDENTITY_HEADER: sim.managedIdentity.header });
    try {
      await waitFor('the managed identity\'s tenant', async () => select(await exporter.samples(), 'm365_service_info', { tenant: 'on-azure' }).length === 2);
      const identityRequests = sim.requests.slice(before).filter((r) => r.path === '/msi/token');
      expect(identityRequests.map((r) => [r.query['client_id'], r.status])).toEqual([[USER_IDENTITY, 200]]);
      // Graph through the tunnel; the identity endpoint (plain HTTP on the loopback) never through the proxy.
      expect(new Set(proxy.tunnels.map((t) => t.target))).toEqual(new Set([new URL(sim.url).host]));
      expect(proxy.plainRequests).toEqual([]);
      expect(`${exporter.logs.join('\n')}\n${await exporter.scrape()}`).not.toContain(sim.managedIdentity.header);
    } finally {
      await exporter.stop();
      await proxy.stop();
    }
  });

  it('signs in as the system-assigned identity from M365_MANAGED_IDENTITY, without a config file', async () => {
    const exporter = await startFromEnvironment({
      M365_TENANT_ID: ON_AZURE.tenantId, M365_MANAGED_IDENTITY: 'system', M365_GRAPH_ENDPOINT: sim.url, M365_TENANT_NAME: 'system',
      IDENTITY_ENDPOINT: sim.managedIdentity.endpoint, IDENTITY_HEADER: sim.managedIdentity.header,
    });
    try {
      await waitFor('the system-assigned identity\'s tenant', async () => select(await exporter.samples(), 'm365_service_info', { tenant: 'system' }).length === 2);
      expect(sim.requests.filter((r) => r.path === '/msi/token').at(-1)).toMatchObject({ query: { 'api-version': '2019-08-01', resource: sim.url }, status: 200 });
    } finally {
      await exporter.stop();
    }
  });
});

/** The built exporter with only environment variables (and the simulator's CA), as a container without a config file runs. */
async function startFromEnvironment(env: Record<string, string>): Promise<{ samples(): Promise<ParsedSample[]>; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../../dist/cli.js', import.meta.url)), '--web.listen-address', '127.0.0.1:0', '--log.format', 'json'], {
    env: { PATH: process.env.PATH!, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), ...env },
    // Its history store (data/) in a directory of its own, not the repository's, and not another start's.
    cwd: mkdtempSync(join(dir, 'run-')),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    child.kill('SIGTERM');
    await exited;
  };
  try {
    const url = await waitFor('the exporter to listen', () => {
      if (child.exitCode !== null) throw new Error(`exporter exited with ${child.exitCode}: ${stderr}`);
      const line = stderr.split('\n').find((l) => l.includes('"msg":"listening"'));
      return line ? (JSON.parse(line) as { address: string }).address : undefined;
    }, 15_000, 50);
    return { samples: async () => parseExposition(await (await fetch(`${url}/metrics`)).text()), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
