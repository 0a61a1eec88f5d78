/**
 * The web server as it runs: the express app behind the real node HTTP(S) server on an ephemeral 127.0.0.1 port,
 * configured by real web config files with real certificates, reached by real clients (undici, node:https, sockets).
 * Every request opens a new connection, so each sees the web config as it is at that moment.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Agent as HttpsAgent, get as httpsGet } from 'node:https';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { Registry } from 'prom-client';
import { Agent, request } from 'undici';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ExpositionStore } from '../../src/exposition/store.js';
import { Logging } from '../../src/logger.js';
import { createApp, type ReloadOutcome } from '../../src/server/app.js';
import { IDLE_CONNECTION_MS, listen } from '../../src/server/listen.js';
import { WebSecurity } from '../../src/server/security.js';
import { certificateAuthority, issue, type Pem } from '../helpers/certificates.js';
import { waitFor } from '../helpers/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'm365-web-'));
const PASSWORD = 'correct horse battery staple';
// Cost 4 keeps the tests fast; the README recommends 10.
const HASH = bcrypt.hashSync(PASSWORD, 4);
let ca: Pem;
let otherCa: Pem;
let server: Pem;
let renewed: Pem;
let client: Pem;
let strangerClient: Pem;

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(async () => {
  [ca, otherCa] = await Promise.all([certificateAuthority('exporter CA'), certificateAuthority('someone else')]);
  [server, renewed, client, strangerClient] = await Promise.all([
    issue(ca, 'exporter', 'server'), issue(ca, 'exporter renewed', 'server'), issue(ca, 'prometheus', 'client'), issue(otherCa, 'stranger', 'client'),
  ]);
  write('ca.pem', ca.cert);
  write('server.pem', server.cert);
  write('server.key', server.key);
  write('renewed.pem', renewed.cert);
  write('renewed.key', renewed.key);
});

const running: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((close) => close()));
});

async function start(webConfig: Record<string, unknown> | undefined, { maxConnections = 512, reload = async (): Promise<ReloadOutcome> => ({ ok: true }), isReady = (): boolean => true } = {}) {
  const path = webConfig === undefined ? undefined : write(`web-${running.length}-${Date.now()}.yml`, stringify(webConfig));
  const lines: string[] = [];
  const logging = new Logging({ level: 'debug', format: 'json', sink: { write: (line: string) => lines.push(line) } });
  const security = new WebSecurity({ path, logger: logging.logger, onSecrets: (values) => logging.addSecrets(values) });
  const app = createApp({ exposition: new ExpositionStore(new Registry()), tenantNames: () => ['contoso'], isReady, version: '0.0.0', security, reload, tenants: () => [] });
  const { server: http, url } = await listen({ handler: app, security, listen: '127.0.0.1:0', maxConnections, logger: logging.logger });
  running.push(() => closeServer(http));
  return { url, path: path!, lines, http };
}

function closeServer(http: Server): Promise<void> {
  http.closeAllConnections();
  return new Promise((resolve) => http.close(() => resolve()));
}

interface Call {
  method?: string;
  ca?: string;
  cert?: Pem;
  user?: string;
  password?: string;
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  error?: string;
}

/** One request on a connection of its own: status, headers and body, or (status 0) the error that ended it. */
async function call(url: string, { method = 'GET', ca: trusted = ca.cert, cert, user, password, maxVersion }: Call = {}): Promise<Answer> {
  const agent = new Agent({ connect: { ca: trusted, cert: cert?.cert, key: cert?.key, maxVersion } });
  try {
    const headers: Record<string, string> = user === undefined ? {} : { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
    const response = await request(url, { method: method as 'GET', headers, dispatcher: agent });
    return { status: response.statusCode, headers: response.headers, body: await response.body.text() };
  } catch (error) {
    return { status: 0, headers: {}, body: '', error: (error as { code?: string }).code ?? (error as Error).message };
  } finally {
    await agent.close();
  }
}

const tls = (extra: Record<string, unknown> = {}) => ({ cert_file: 'server.pem', key_file: 'server.key', ...extra });

describe('HTTPS with basic auth', () => {
  it('serves TLS with the configured certificate, and nothing to plain HTTP or to a client that does not trust it', async () => {
    const { url } = await start({ tls_server_config: tls() });
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(`${url}/-/healthy`)).status).toBe(200);
    expect((await call(`${url.replace('https:', 'http:')}/-/healthy`)).status).toBe(0);
    expect(await call(`${url}/-/healthy`, { ca: otherCa.cert })).toMatchObject({ status: 0, error: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('answers 401 without the right password on every path, /-/healthy included, and 200 with it', async () => {
    const { url, lines } = await start({ tls_server_config: tls(), basic_auth_users: { prometheus: HASH } });
    for (const path of ['/', '/metrics', '/probe?tenant=contoso', '/-/healthy', '/-/ready', '/nope']) {
      const anonymous = await call(`${url}${path}`);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers['www-authenticate']).toBe('Basic realm="m365-health-exporter", charset="UTF-8"');
      expect(anonymous.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await call(`${url}/metrics`, { user: 'prometheus', password: 'wrong' })).status).toBe(401);
    expect((await call(`${url}/metrics`, { user: 'grafana', password: PASSWORD })).status).toBe(401);
    expect((await call(`${url}/-/reload`, { method: 'POST', user: 'prometheus', password: 'wrong' })).status).toBe(401);
    const scraped = await call(`${url}/metrics`, { user: 'prometheus', password: PASSWORD });
    expect(scraped.status).toBe(200);
    expect(scraped.body).toContain('# TYPE m365_exporter_graph_requests_total counter');
    expect((await call(`${url}/-/healthy`, { user: 'prometheus', password: PASSWORD })).body).toBe('Healthy\n');
    expect(lines.join('')).not.toContain(HASH.slice(7));
  });

  it('takes in a changed password at the next request, and keeps the previous web config when the new one is broken', async () => {
    const { url, path, lines } = await start({ tls_server_config: tls(), basic_auth_users: { prometheus: HASH } });
    expect((await call(`${url}/metrics`, { user: 'prometheus', password: PASSWORD })).status).toBe(200);
    writeFileSync(path, stringify({ tls_server_config: tls(), basic_auth_users: { prometheus: bcrypt.hashSync('rotated', 4) } }));
    // The remembered success was for the old hash: it does not let the old password in.
    expect((await call(`${url}/metrics`, { user: 'prometheus', password: PASSWORD })).status).toBe(401);
    expect((await call(`${url}/metrics`, { user: 'prometheus', password: 'rotated' })).status).toBe(200);
    expect(lines.filter((line) => line.includes('"msg":"web config reloaded"'))).toHaveLength(1);

    writeFileSync(path, stringify({ tls_server_config: tls(), basic_auth_users: { prometheus: 'not-a-hash' } }));
    for (let i = 0; i < 3; i++) expect((await call(`${url}/metrics`, { user: 'prometheus', password: 'rotated' })).status).toBe(200);
    const refusals = lines.filter((line) => line.includes('web config not reloaded; keeping the previous one'));
    expect(refusals).toHaveLength(1);
    expect(JSON.parse(refusals[0]!).error).toBe(`${path}: basic_auth_users.prometheus: must be a bcrypt hash such as $2y$10$..., made with htpasswd -nBC 10 "" | tr -d ':\\n'`);

    writeFileSync(path, stringify({ basic_auth_users: { prometheus: HASH } }));
    expect((await call(`${url}/metrics`, { user: 'prometheus', password: 'rotated' })).status).toBe(200);
    expect(lines.some((line) => line.includes('tls_server_config was removed; switching TLS on or off needs a restart'))).toBe(true);
  });

  it('serves a renewed certificate from the next connection on', async () => {
    const { url, path } = await start({ tls_server_config: tls() });
    const fingerprint = () => new Promise<string>((resolve, reject) => {
      httpsGet(`${url}/-/healthy`, { ca: ca.cert, agent: false }, (response) => {
        resolve((response.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256);
        response.resume();
      }).on('error', reject);
    });
    const before = await fingerprint();
    writeFileSync(path, stringify({ tls_server_config: { cert_file: 'renewed.pem', key_file: 'renewed.key' } }));
    const after = await fingerprint();
    expect(before).not.toBe(after);
    expect(after).toBe(new (await import('node:crypto')).X509Certificate(renewed.cert).fingerprint256);
  });

  it('keeps a scrape connection open between scrapes, so a scrape after an idle interval needs no new handshake', async () => {
    const { url, http } = await start({ tls_server_config: tls() });
    let handshakes = 0;
    http.on('secureConnection', () => handshakes++);
    const agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: ca.cert });
    const scrape = () => new Promise<{ reused: boolean; keepAlive: string | undefined }>((resolve, reject) => {
      const req = httpsGet(`${url}/-/healthy`, { agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ reused: req.reusedSocket, keepAlive: res.headers['keep-alive'] as string | undefined }));
      }).on('error', reject);
    });
    try {
      expect(await scrape()).toEqual({ reused: false, keepAlive: `timeout=${IDLE_CONNECTION_MS / 1_000}` });
      // Past Node's default keep-alive timeout (5 s, and the second it adds), which closed the connection here before.
      await new Promise((resolve) => setTimeout(resolve, 6_500));
      expect(await scrape()).toEqual({ reused: true, keepAlive: `timeout=${IDLE_CONNECTION_MS / 1_000}` });
      expect(handshakes).toBe(1);
    } finally {
      agent.destroy();
    }
  }, 15_000);

  it('refuses a client that offers only TLS 1.2 when min_version is TLS13', async () => {
    const { url } = await start({ tls_server_config: tls({ min_version: 'TLS13' }) });
    expect(await call(`${url}/-/healthy`, { maxVersion: 'TLSv1.2' })).toMatchObject({ status: 0 });
    expect((await call(`${url}/-/healthy`, { maxVersion: 'TLSv1.3' })).status).toBe(200);
  });
});

describe('client certificates', () => {
  // Go's crypto/tls semantics, https://pkg.go.dev/crypto/tls#ClientAuthType: [no certificate, one from client_ca_file, one from another CA].
  const expected: Record<string, [boolean, boolean, boolean]> = {
    NoClientCert: [true, true, true],
    RequestClientCert: [true, true, true],
    RequireAnyClientCert: [false, true, true],
    VerifyClientCertIfGiven: [true, true, false],
    RequireAndVerifyClientCert: [false, true, false],
  };

  it('follows each client_auth_type, switched by editing the web config of a running server', async () => {
    const { url, path } = await start({ tls_server_config: tls() });
    const outcome: Record<string, boolean[]> = {};
    for (const type of Object.keys(expected)) {
      writeFileSync(path, stringify({ tls_server_config: tls(type === 'NoClientCert' || type === 'RequestClientCert' || type === 'RequireAnyClientCert'
        ? { client_auth_type: type } : { client_auth_type: type, client_ca_file: 'ca.pem' }) }));
      outcome[type] = [];
      for (const cert of [undefined, client, strangerClient]) outcome[type].push((await call(`${url}/-/healthy`, { cert })).status === 200);
    }
    expect(outcome).toEqual(expected);
  });
});

describe('headers and methods', () => {
  it('sends nosniff everywhere, a strict CSP and DENY on the landing page, and the web config\'s headers over them', async () => {
    const plain = await start(undefined);
    const landing = await call(`${plain.url}/`);
    expect(landing.headers).toMatchObject({
      'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY',
      'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    });
    const metrics = await call(`${plain.url}/metrics`);
    expect(metrics.headers['x-content-type-options']).toBe('nosniff');
    expect(metrics.headers['content-security-policy']).toBeUndefined();
    expect((await call(`${plain.url}/nope`)).headers['x-content-type-options']).toBe('nosniff');

    const configured = await start({ http_server_config: { headers: { 'X-Frame-Options': 'sameorigin', 'Strict-Transport-Security': 'max-age=31536000' } } });
    const page = await call(`${configured.url}/`);
    expect(page.headers).toMatchObject({ 'x-frame-options': 'sameorigin', 'strict-transport-security': 'max-age=31536000' });
    expect((await call(`${configured.url}/metrics`)).headers['strict-transport-security']).toBe('max-age=31536000');
  });

  it('answers other methods on known paths with 405 and Allow; HEAD like GET', async () => {
    const { url } = await start(undefined);
    for (const [method, path, allow] of [['POST', '/metrics', 'GET, HEAD'], ['DELETE', '/', 'GET, HEAD'], ['PUT', '/probe', 'GET, HEAD'], ['GET', '/-/reload', 'POST'], ['OPTIONS', '/-/healthy', 'GET, HEAD']]) {
      const response = await call(`${url}${path}`, { method });
      expect([response.status, response.headers.allow], `${method} ${path}`).toEqual([405, allow]);
    }
    expect((await call(`${url}/-/healthy`, { method: 'HEAD' })).status).toBe(200);
    expect((await call(`${url}/nope`, { method: 'POST' })).status).toBe(404);
  });

  it('answers health checks as text, HEAD without a body, /-/ready 503 until the first refreshes are in', async () => {
    let ready = false;
    const { url } = await start({ http_server_config: { headers: { 'Strict-Transport-Security': 'max-age=31536000' } } }, { isReady: () => ready });
    const text = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff', 'strict-transport-security': 'max-age=31536000' };
    expect(await call(`${url}/-/healthy`)).toMatchObject({ status: 200, body: 'Healthy\n', headers: { ...text, 'content-length': '8' } });
    expect(await call(`${url}/-/healthy?from=kubelet`)).toMatchObject({ status: 200, body: 'Healthy\n' });
    const notReady = 'Not ready: waiting for the first refresh of every tenant\n';
    expect(await call(`${url}/-/ready`)).toMatchObject({ status: 503, body: notReady, headers: text });
    expect(await call(`${url}/-/ready`, { method: 'HEAD' })).toMatchObject({ status: 503, body: '', headers: { 'content-length': String(notReady.length) } });
    ready = true;
    expect(await call(`${url}/-/ready`)).toMatchObject({ status: 200, body: 'Ready\n', headers: text });
    expect(await call(`${url}/-/ready`, { method: 'HEAD' })).toMatchObject({ status: 200, body: '', headers: { 'content-length': '6' } });
    expect((await call(`${url}/-/healthz`)).status).toBe(404);
  });

  it('reloads on POST /-/reload and answers 500 with the reason when the new configuration is refused', async () => {
    let outcome: ReloadOutcome = { ok: true };
    const { url } = await start(undefined, { reload: async () => outcome });
    expect(await call(`${url}/-/reload`, { method: 'POST' })).toMatchObject({ status: 200, body: 'Reloaded\n' });
    outcome = { ok: false, error: 'config.yml: tenants[1].clientId: must be the application (client) GUID of the app registration' };
    expect(await call(`${url}/-/reload`, { method: 'POST' })).toMatchObject({
      status: 500, body: 'failed to reload the configuration; the running one stays:\nconfig.yml: tenants[1].clientId: must be the application (client) GUID of the app registration\n',
    });
  });
});

describe('connection limit', () => {
  it('closes connections past --web.max-connections at once, and accepts again when one closes', async () => {
    const { url, lines } = await start(undefined, { maxConnections: 2 });
    const { port } = new URL(url);
    /** A keep-alive connection that has had one answer; resolves to whether an answer came. */
    const open = () => new Promise<{ answered: boolean; close(): void }>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      socket.once('data', () => resolve({ answered: true, close: () => socket.destroy() }));
      socket.once('close', () => resolve({ answered: false, close: () => undefined }));
      socket.write('GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    });
    const first = await open();
    const second = await open();
    const third = await open();
    expect([first.answered, second.answered, third.answered]).toEqual([true, true, false]);
    expect(lines.some((line) => line.includes('connection limit reached'))).toBe(true);
    first.close();
    await waitFor('a connection to be accepted again', async () => {
      const next = await open();
      next.close();
      return next.answered;
    }, 5_000, 50);
    second.close();
  });
});
