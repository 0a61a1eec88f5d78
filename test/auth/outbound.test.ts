import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import selfsigned from 'selfsigned';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbound, dispatcherFor, type ProxySettings } from '../../src/auth/outbound.js';
import { Secret } from '../../src/config/secret.js';
import { NetworkError, TimeoutError } from '../../src/model/errors.js';
import { startConnectProxy, type ConnectProxy } from '../helpers/connectProxy.js';

const servers: Server[] = [];
let proxy: ConnectProxy | undefined;
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
  await proxy?.stop();
  proxy = undefined;
});

async function listen(server: Server, scheme = 'http'): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A port that was just free: nothing listens on it. */
async function closedPort(): Promise<number> {
  const server = createHttpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const ok = () => listen(createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"value":[]}')));

function outbound(proxySettings?: ProxySettings, timeoutMs = 2_000) {
  return new Outbound({ dispatcher: dispatcherFor(proxySettings), timeoutMs, maxResponseBytes: 1_048_576 });
}

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(() => undefined, (e: unknown) => e as Error);
  if (!error) throw new Error('expected the request to fail');
  return error;
}

describe('failures without an answer name the host and the cause', () => {
  it('DNS: ENOTFOUND with the name', async () => {
    const error = await failure(outbound().request('https://login.example.invalid/tenant/oauth2/v2.0/token', { what: 'token request for tenant t' }));
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ reason: 'network' });
    expect(error.message).toBe('token request for tenant t: cannot reach https://login.example.invalid: getaddrinfo ENOTFOUND login.example.invalid');
  });

  it('refused: ECONNREFUSED with address and port', async () => {
    const port = await closedPort();
    const error = await failure(outbound().request(`https://127.0.0.1:${port}/v1.0/x`, { what: 'issues' }));
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.message).toBe(`issues: cannot reach https://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
  });

  it('a port fetch never connects to (https://fetch.spec.whatwg.org/#port-blocking) says so', async () => {
    const error = await failure(outbound().request('https://127.0.0.1:1/v1.0/x', { what: 'issues' }));
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.message).toBe('issues: cannot reach https://127.0.0.1:1: bad port');
  });

  it('TLS: a certificate nobody vouches for, with its error code', async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'untrusted.example' }], { keySize: 2048 });
    const base = await listen(createHttpsServer({ cert: pems.cert, key: pems.private }, (_req, res) => res.end('{}')) as unknown as Server, 'https');
    const error = await failure(outbound().request(`${base}/v1.0/x`, { what: 'issues' }));
    expect(error).toBeInstanceOf(NetworkError);
    // Node.js 24 adds a hint about --use-system-ca to OpenSSL's message; the cause and its code are what matter.
    expect(error.message).toMatch(new RegExp(`^issues: cannot reach ${base}: self[- ]signed certificate[^(]* \\(DEPTH_ZERO_SELF_SIGNED_CERT\\)$`));
  });

  it('a server that accepts and never answers: TimeoutError within the timeout', async () => {
    const base = await listen(createHttpServer(() => undefined));
    const started = Date.now();
    const error = await failure(outbound(undefined, 300).request(`${base}/x`, { what: 'token request for tenant t' }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe(`token request for tenant t: no answer from ${base} within 300 ms`);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('a body that stops halfway: TimeoutError too', async () => {
    const base = await listen(createHttpServer((_req, res) => res.writeHead(200).write('{"value":[')));
    await expect(outbound(undefined, 300).request(`${base}/x`, { what: 'issues' })).rejects.toBeInstanceOf(TimeoutError);
  });

  it("the caller's abort ends the request at once with the caller's reason", async () => {
    const base = await listen(createHttpServer(() => undefined));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 50);
    const started = Date.now();
    const error = await failure(outbound(undefined, 60_000).request(`${base}/x`, { what: 'issues', signal: controller.signal }));
    expect(error.message).toBe('shutting down');
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe('through an HTTP CONNECT proxy', () => {
  it('tunnels every request, sending the credentials of the proxy URL, which no error shows', async () => {
    proxy = await startConnectProxy({ credentials: { user: 'exporter', password: 'pr0xy-pa55word' } });
    const base = await ok();
    const url = new URL(proxy.url);
    url.username = 'exporter';
    url.password = 'pr0xy-pa55word';
    const through = outbound({ url: new Secret(url.toString()), noProxy: [] });
    expect((await through.request(`${base}/v1.0/x`, { what: 'issues' })).body).toBe('{"value":[]}');
    expect(proxy.tunnels).toEqual([{ target: new URL(base).host, authorization: `Basic ${Buffer.from('exporter:pr0xy-pa55word').toString('base64')}`, status: 200 }]);
    expect(proxy.plainRequests).toEqual([]);

    const refused = await failure(outbound({ url: new Secret(proxy.url.replace('//', '//exporter:wrong-pa55word@')), noProxy: [] }).request(`${base}/v1.0/x`, { what: 'issues' }));
    expect(refused).toBeInstanceOf(NetworkError);
    expect(refused.message).toBe(`issues: cannot reach ${base}: Proxy response (407) !== 200 when HTTP Tunneling (UND_ERR_ABORTED)`);
    expect(refused.message).not.toContain('pa55word');
  });

  it('goes direct to the NO_PROXY hosts only', async () => {
    proxy = await startConnectProxy({ hosts: { 'graph.example.test': '127.0.0.1' } });
    const base = await ok();
    const { port } = new URL(base);
    const through = outbound({ url: new Secret(proxy.url), noProxy: ['127.0.0.1'] });
    await through.request(`${base}/direct`, { what: 'issues' });
    expect(proxy.tunnels).toEqual([]);
    // A name only the proxy can resolve: reaching it proves the request went through the tunnel.
    expect((await through.request(`http://graph.example.test:${port}/tunnelled`, { what: 'issues' })).status).toBe(200);
    expect(proxy.tunnels.map((t) => t.target)).toEqual([`graph.example.test:${port}`]);
  });

  it('names the address of a proxy that cannot be reached', async () => {
    const base = await ok();
    const port = await closedPort();
    const error = await failure(outbound({ url: new Secret(`http://u:secret-pw@127.0.0.1:${port}`), noProxy: [] }).request(`${base}/x`, { what: 'issues' }));
    expect(error).toBeInstanceOf(NetworkError);
    expect(error.message).toBe(`issues: cannot reach ${base}: connect ECONNREFUSED 127.0.0.1:${port}`);
  });
});
