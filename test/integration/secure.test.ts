/**
 * The built exporter behind a web config with TLS, client certificates and basic auth, scraped by the real
 * Prometheus: the job with the right certificate and password is up, a wrong password or a missing client
 * certificate leaves its job down. Nothing of the TLS key or the password reaches the log.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startPrometheus } from '../helpers/binaries.js';
import { certificateAuthority, issue, type Pem } from '../helpers/certificates.js';
import { select } from '../helpers/exposition.js';
import { tenantConfig } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000021', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000021', clientSecret: 'contoso-secure-secret-21' };
const PASSWORD = 'scrape-password-of-prometheus';
const dir = mkdtempSync(join(tmpdir(), 'm365-secure-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};

let stack: Stack;
let ca: Pem;
let server: Pem;
let client: Pem;

beforeAll(async () => {
  ca = await certificateAuthority('exporter CA');
  [server, client] = await Promise.all([issue(ca, 'm365-exporter', 'server'), issue(ca, 'prometheus', 'client')]);
  const webConfig = file('web.yml', stringify({
    tls_server_config: {
      cert_file: file('server.pem', server.cert), key_file: file('server.key', server.key),
      client_ca_file: file('ca.pem', ca.cert), client_auth_type: 'RequireAndVerifyClientCert',
    },
    // Cost 10, as the README's htpasswd command makes it: the first check takes about 60 ms, later ones are remembered.
    basic_auth_users: { prometheus: bcrypt.hashSync(PASSWORD, 10) },
  }));
  file('client.pem', client.cert);
  file('client.key', client.key);
  stack = await startStack({
    simulator: { tenants: [{ ...CONTOSO, services: 4 }] },
    config: ({ sim }) => ({ refresh: { health: '1s', issues: '1s', messages: '1s' }, tenants: [tenantConfig('contoso', sim, CONTOSO)] }),
    args: ['--web.config.file', webConfig],
    client: { ca: ca.cert, cert: client.cert, key: client.key, username: 'prometheus', password: PASSWORD },
  });
});

afterAll(() => stack?.stop());

describe('secured exporter', () => {
  it('serves HTTPS to a client with the certificate and the password', async () => {
    expect(stack.exporter.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(select(await stack.exporter.samples(), 'm365_service_info', { tenant: 'contoso' })).toHaveLength(4);
    expect(stack.exporter.logs.some((line) => line.includes('"msg":"listening"') && line.includes('"maxConnections":512'))).toBe(true);
  });

  it('answers 401 to the right certificate without the password, and refuses the handshake without a certificate', async () => {
    const withCert = new Agent({ connect: { ca: ca.cert, cert: client.cert, key: client.key } });
    const withoutCert = new Agent({ connect: { ca: ca.cert } });
    try {
      expect((await request(`${stack.exporter.url}/-/healthy`, { dispatcher: withCert })).statusCode).toBe(401);
      await expect(request(`${stack.exporter.url}/-/healthy`, { dispatcher: withoutCert })).rejects.toThrow(/certificate required|other side closed/);
    } finally {
      await Promise.all([withCert.close(), withoutCert.close()]);
    }
  });

  it('is scraped by Prometheus over TLS with a client certificate and basic auth; a wrong password or no certificate is down', async () => {
    const target = new URL(stack.exporter.url).host;
    const tls = { ca_file: join(dir, 'ca.pem'), cert_file: join(dir, 'client.pem'), key_file: join(dir, 'client.key') };
    const prometheus = await startPrometheus({
      scrape: [
        { job: 'secure', target, settings: { scheme: 'https', tls_config: tls, basic_auth: { username: 'prometheus', password: PASSWORD } } },
        { job: 'wrong-password', target, settings: { scheme: 'https', tls_config: tls, basic_auth: { username: 'prometheus', password: 'guess' } } },
        { job: 'no-client-certificate', target, settings: { scheme: 'https', tls_config: { ca_file: tls.ca_file }, basic_auth: { username: 'prometheus', password: PASSWORD } } },
      ],
    });
    try {
      const up = await waitFor('every job to be scraped', async () => {
        const vector = await prometheus.query('up');
        return vector.length === 3 && Object.fromEntries(vector.map((sample) => [sample.metric.job, sample.value[1]]));
      }, 30_000, 250);
      expect(up).toEqual({ secure: '1', 'wrong-password': '0', 'no-client-certificate': '0' });
      const services = await waitFor('the services', async () => {
        const vector = await prometheus.query('m365_service_operational{job="secure"}');
        return vector.length === 4 && vector;
      }, 30_000, 250);
      expect(new Set(services.map((s) => s.metric.tenant))).toEqual(new Set(['contoso']));
    } finally {
      await prometheus.stop();
    }
  });

  it('never logs the TLS key, the password or its hash', () => {
    const logs = stack.exporter.logs.join('\n');
    for (const line of server.key.split('\n').filter((l) => l.length > 16 && !l.startsWith('-----'))) expect(logs).not.toContain(line);
    expect(logs).not.toContain(PASSWORD);
    expect(logs).not.toContain(CONTOSO.clientSecret);
  });
});
