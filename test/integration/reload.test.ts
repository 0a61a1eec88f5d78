/**
 * Configuration reloads of the built exporter against the simulated tenants: SIGHUP and POST /-/reload with a broken
 * config (refused, everything stays), then with tenants added, removed, changed and unchanged. An unchanged tenant
 * keeps its token (the simulator counts token requests per tenant), its data and its counters. A tenant added by the
 * reload signs in at a hostile authority that echoes the client secret back: the log shows <secret> instead.
 * Without a config file, a reload reads the secret file the environment names, so a rotated secret is taken in.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseExposition, select, value } from '../helpers/exposition.js';
import { certificateAuthority, issue } from '../helpers/certificates.js';
import { tenantConfig, type ExporterProcess } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000011', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000011', clientSecret: 'contoso-reload-secret-11' };
const FABRIKAM = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000012', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000012', clientSecret: 'fabrikam-reload-secret-12' };
const NORTHWIND = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000013', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000013', clientSecret: 'northwind-reload-secret-13' };
const ECHO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000014', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000014', clientSecret: 'Echo~Secret.only-the-hostile-authority-sees_14' };
const SECRETS = [CONTOSO, FABRIKAM, NORTHWIND, ECHO].map((t) => t.clientSecret);

let stack: Stack;
let exporter: ExporterProcess;
let hostile: Server;
let hostileUrl = '';
let base: Record<string, unknown>;

/**
 * An authority that answers discovery like Entra ID, then refuses every token request with an error that quotes the
 * request's client_secret, as a misbehaving proxy or a verbose error page might.
 */
async function startHostileAuthority(): Promise<{ server: Server; url: string; ca: string }> {
  const ca = await certificateAuthority('hostile authority CA');
  const identity = await issue(ca, 'hostile', 'server');
  const server = createServer({ cert: identity.cert, key: identity.key }, (req, res) => {
    const tenantBase = `https://127.0.0.1:${(server.address() as AddressInfo).port}/${req.url!.split('/')[1]}`;
    if (req.method === 'GET' && req.url!.endsWith('/.well-known/openid-configuration')) {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({
        token_endpoint: `${tenantBase}/oauth2/v2.0/token`, issuer: `${tenantBase}/v2.0`, authorization_endpoint: `${tenantBase}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${tenantBase}/oauth2/v2.0/logout`, jwks_uri: `${tenantBase}/discovery/v2.0/keys`,
      }));
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const secret = new URLSearchParams(body).get('client_secret');
      res.statusCode = 401;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ error: 'invalid_client', error_codes: [7000215], error_description: `AADSTS7000215: Invalid client secret provided: '${secret}'.` }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { server, url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ca: ca.cert };
}

beforeAll(async () => {
  const authority = await startHostileAuthority();
  ({ server: hostile, url: hostileUrl } = authority);
  stack = await startStack({
    simulator: { tenants: [{ ...CONTOSO, services: 3 }, { ...FABRIKAM, services: 3 }, { ...NORTHWIND, services: 3 }] },
    trust: authority.ca,
    config: ({ sim }) => (base = {
      refresh: { health: '1s', issues: '1s', messages: '1s' },
      readyTimeout: '30s',
      tenants: [tenantConfig('contoso', sim, CONTOSO), tenantConfig('fabrikam', sim, FABRIKAM)],
    }),
  });
  exporter = stack.exporter;
});

afterAll(async () => {
  await stack?.stop();
  await new Promise((resolve) => hostile?.close(resolve));
});

const writeConfig = (config: Record<string, unknown>) => writeFileSync(exporter.configPath, stringify(config));
const reloadMetric = async () => {
  const samples = await exporter.samples();
  return { successful: value(samples, 'm365_exporter_config_last_reload_successful'), at: value(samples, 'm365_exporter_config_last_reload_success_timestamp_seconds')!, samples };
};
const logged = (message: string) => exporter.logs.filter((line) => line.includes(`"msg":"${message}"`)).map((line) => JSON.parse(line) as Record<string, unknown>);

describe('configuration reload', () => {
  let loadedAt = 0;

  it('reports the start as the first successful load', async () => {
    const { successful, at } = await reloadMetric();
    expect(successful).toBe(1);
    expect(Math.abs(at - Date.now() / 1_000)).toBeLessThan(60);
    loadedAt = at;
  });

  it('refuses a broken config on SIGHUP and keeps running with the previous one', async () => {
    const contosoTokens = stack.sim.tenant(CONTOSO.tenantId).tokenRequests;
    writeConfig({ ...base, tenants: [...(base.tenants as unknown[]), { name: 'broken', tenantId: 'not a tenant', clientId: 'nope', clientSecret: 'x' }] });
    exporter.process.kill('SIGHUP');
    const [failure] = await waitFor('the refusal to be logged', () => logged('configuration reload failed; keeping the running configuration').length > 0 && logged('configuration reload failed; keeping the running configuration'));
    expect(failure!.error).toBe([
      `${exporter.configPath}: tenants[2].tenantId: must be a directory (tenant) GUID or a verified domain such as contoso.onmicrosoft.com`,
      `${exporter.configPath}: tenants[2].clientId: must be the application (client) GUID of the app registration`,
    ].join('\n'));
    const { successful, at, samples } = await reloadMetric();
    expect(successful).toBe(0);
    expect(at).toBe(loadedAt);
    expect(select(samples, 'm365_service_info', { tenant: 'fabrikam' })).toHaveLength(3);
    expect(stack.sim.tenant(CONTOSO.tenantId).tokenRequests).toBe(contosoTokens);
    expect(exporter.process.exitCode).toBeNull();
  });

  it('answers POST /-/reload with 500 and the reason when the config is broken', async () => {
    writeConfig({ ...base, listen: ':98777' });
    const response = await exporter.fetch('/-/reload', { method: 'POST' });
    expect(response.status).toBe(500);
    expect(await response.text()).toBe(`failed to reload the configuration; the running one stays:\n${exporter.configPath}: listen: must be host:port or :port with a port from 0 to 65535, for example :9877 or 127.0.0.1:9877\n`);
  });

  it('adds, removes and keeps tenants: the unchanged one keeps its token, data and counters', async () => {
    const before = await exporter.samples();
    const contosoTokens = stack.sim.tenant(CONTOSO.tenantId).tokenRequests;
    expect(contosoTokens).toBe(1);
    const contosoRequests = select(before, 'm365_exporter_graph_requests_total', { tenant: 'contoso' }).reduce((sum, s) => sum + s.value, 0);
    expect(contosoRequests).toBeGreaterThan(0);

    writeConfig({
      ...base,
      tenants: [
        tenantConfig('contoso', stack.sim, CONTOSO),
        tenantConfig('northwind', stack.sim, NORTHWIND),
        { ...tenantConfig('echo', { url: hostileUrl }, ECHO), graphEndpoint: stack.sim.url },
      ],
    });
    const response = await exporter.fetch('/-/reload', { method: 'POST' });
    expect([response.status, await response.text()]).toEqual([200, 'Reloaded\n']);

    const after = await exporter.samples();
    expect(select(after, 'm365_service_info', { tenant: 'fabrikam' })).toEqual([]);
    expect((await exporter.fetch('/probe?tenant=fabrikam')).status).toBe(400);
    expect(select(after, 'm365_service_info', { tenant: 'contoso' })).toHaveLength(3);
    const requestsNow = select(after, 'm365_exporter_graph_requests_total', { tenant: 'contoso' }).reduce((sum, s) => sum + s.value, 0);
    expect(requestsNow).toBeGreaterThanOrEqual(contosoRequests);
    await waitFor('northwind to be exported', async () => select(await exporter.samples('/probe?tenant=northwind'), 'm365_service_info').length === 3);
    await waitFor('more refreshes of contoso', async () => select(await exporter.samples(), 'm365_exporter_graph_requests_total', { tenant: 'contoso' }).reduce((sum, s) => sum + s.value, 0) > requestsNow);
    expect(stack.sim.tenant(CONTOSO.tenantId).tokenRequests).toBe(contosoTokens);
    expect(stack.sim.tenant(NORTHWIND.tenantId).tokenRequests).toBe(1);

    const { successful, at } = await reloadMetric();
    expect(successful).toBe(1);
    expect(at).toBeGreaterThan(loadedAt);
    expect(logged('configuration reloaded').at(-1)).toMatchObject({ added: ['northwind', 'echo'], changed: [], removed: ['fabrikam'], unchanged: 1 });
  });

  it('scrubs the secret of a tenant added by the reload from an upstream error that echoes it', async () => {
    const echoed = await waitFor('the hostile authority\'s answer to be logged', () => exporter.logs.find((line) => line.includes('AADSTS7000215') && line.includes('"tenant":"echo"')));
    expect(echoed).toContain("Invalid client secret provided: '<secret>'");
    // Rendered and compressed after the refresh that logged it.
    await waitFor('the token error of echo to be exported', async () => value(await exporter.samples(), 'm365_exporter_token_error_info', { tenant: 'echo', error_code: 'AADSTS7000215' }) === 1);
  });

  it('restarts a changed tenant on SIGHUP (a new token), and every tenant when a setting they share changes', async () => {
    const tokens = () => [CONTOSO, NORTHWIND].map((t) => stack.sim.tenant(t.tenantId).tokenRequests);
    const [contoso, northwind] = tokens();
    const tenants = [tenantConfig('contoso', stack.sim, CONTOSO, { collectors: ['health'] }), tenantConfig('northwind', stack.sim, NORTHWIND)];
    writeConfig({ ...base, tenants });
    exporter.process.kill('SIGHUP');
    await waitFor('the reload', () => logged('configuration reloaded').length === 2);
    expect(logged('configuration reloaded').at(-1)).toMatchObject({ added: [], changed: ['contoso'], removed: ['echo'], unchanged: 1 });
    await waitFor('contoso to sign in again', () => tokens()[0] === contoso! + 1);
    // The restarted tenant's first refresh is rendered a moment after it ends (src/exposition/store.ts renders in turn).
    await waitFor('contoso to run its one collector', async () => {
      const collectors = select(await exporter.samples(), 'm365_exporter_collector_success', { tenant: 'contoso' }).map((s) => s.labels.collector);
      return collectors.length === 1 && collectors[0] === 'health';
    });

    writeConfig({ ...base, refresh: { health: '1s', issues: '1s', messages: '2s' }, tenants });
    exporter.process.kill('SIGHUP');
    await waitFor('the reload', () => logged('configuration reloaded').length === 3);
    expect(logged('configuration reloaded').at(-1)).toMatchObject({ changed: ['contoso', 'northwind'], unchanged: 0 });
    await waitFor('both to sign in again', () => tokens()[0] === contoso! + 2 && tokens()[1] === northwind! + 1);
  });

  it('never writes a secret to the log, the metrics or a reload answer', async () => {
    const text = `${exporter.logs.join('\n')}\n${await exporter.scrape()}`;
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(readFileSync(exporter.configPath, 'utf8')).toContain(CONTOSO.clientSecret); // the test did write them
  });
});

describe('reload without a config file', () => {
  it('reads the M365_* variables again, and so the secret file they name: a rotated secret is taken in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'm365-env-reload-'));
    const secretFile = join(dir, 'secret');
    writeFileSync(secretFile, 'the-old-secret-that-entra-no-longer-accepts\n');
    writeFileSync(join(dir, 'ca.pem'), stack.sim.caCertPem);
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../dist/cli.js', import.meta.url)), '--web.listen-address', '127.0.0.1:0', '--log.format', 'json'], {
      env: {
        PATH: process.env.PATH!, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), M365_TENANT_NAME: 'rotated', M365_TENANT_ID: NORTHWIND.tenantId,
        M365_CLIENT_ID: NORTHWIND.clientId, M365_CLIENT_SECRET_FILE: secretFile, M365_AUTHORITY_HOST: stack.sim.url, M365_GRAPH_ENDPOINT: stack.sim.url,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: dir, // its history store (data/) stays in the test's directory
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const lines = (message: string) => stderr.split('\n').filter((line) => line.includes(`"msg":"${message}"`)).map((line) => JSON.parse(line) as Record<string, unknown>);
      const url = await waitFor('the exporter to listen', () => lines('listening')[0]?.address as string | undefined, 15_000, 50);
      const samples = async () => parseExposition(await (await fetch(`${url}/metrics`)).text());
      await waitFor('the old secret to be refused', async () => value(await samples(), 'm365_exporter_token_error_info', { tenant: 'rotated', error_code: 'AADSTS7000215' }) === 1);
      writeFileSync(secretFile, `${NORTHWIND.clientSecret}\n`);
      child.kill('SIGHUP');
      await waitFor('the rotated secret to sign in', async () => select(await samples(), 'm365_service_info', { tenant: 'rotated' }).length === 3);
      expect(lines('configuration reloaded')).toMatchObject([{ source: 'environment', changed: ['rotated'], unchanged: 0 }]);
      expect(stderr).not.toContain(NORTHWIND.clientSecret);
      expect(stderr).not.toContain('the-old-secret');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
