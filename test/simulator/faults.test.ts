import { request } from 'node:https';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { graph, TENANT, token } from './helpers.js';

describe('service communications throttling (240 / 60 s, 800 / h per app and tenant)', () => {
  let now = Date.now();
  let sim: Simulator;
  let tok: string;
  beforeAll(async () => {
    sim = await startSimulator({ tenants: [TENANT], now: () => new Date(now) });
    tok = await token(sim);
  });
  afterAll(() => sim.stop());

  const burst = async (n: number): Promise<number[]> => {
    const statuses: number[] = [];
    for (let i = 0; i < n; i++) statuses.push((await graph(sim, tok, i % 2 ? 'issues?$select=id' : 'healthOverviews')).status);
    return statuses;
  };

  it('answers the 241st request within a minute with 429, Retry-After and the Graph body', async () => {
    expect(new Set(await burst(240))).toEqual(new Set([200]));
    const res = await graph(sim, tok, 'messages');
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    const { error } = res.json();
    expect(error).toMatchObject({ code: 'TooManyRequests', message: 'Please retry again later.', innerError: { code: '429', message: 'Please retry after', status: '429' } });
  });

  it('admits again after the window, until 800 in the hour', async () => {
    let ok = 240;
    while (ok < 800) {
      now += 61_000;
      const statuses = await burst(Math.min(240, 800 - ok));
      expect(new Set(statuses)).toEqual(new Set([200]));
      ok += statuses.length;
    }
    now += 61_000;
    const res = await graph(sim, tok, 'issues');
    expect(res.status).toBe(429);
    // The oldest of the 800 leaves the hour window a bit under an hour from now.
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(60);
  });
});

describe('scripted faults', () => {
  let sim: Simulator;
  let tok: string;
  beforeAll(async () => {
    sim = await startSimulator({ tenants: [TENANT] });
    tok = await token(sim);
  });
  afterEach(() => sim.tenant(TENANT.tenantId).clearFaults());
  afterAll(() => sim.stop());
  const tenant = () => sim.tenant(TENANT.tenantId);

  it('throttle: the next `count` requests answer 429 with a fractional Retry-After', async () => {
    tenant().setFault({ kind: 'throttle', count: 2, retryAfterSeconds: 0.5 });
    const first = await graph(sim, tok, 'issues');
    expect(first.status).toBe(429);
    expect(first.headers['retry-after']).toBe('0.5');
    expect((await graph(sim, tok, 'issues')).status).toBe(429);
    expect((await graph(sim, tok, 'issues')).status).toBe(200);
  });

  it('throttle and serverError without a count last until cleared (a storm, an outage)', async () => {
    tenant().setFault({ kind: 'throttle', retryAfterSeconds: 1 });
    for (let i = 0; i < 5; i++) expect((await graph(sim, tok, 'issues')).status).toBe(429);
    tenant().setFault({ kind: 'serverError', status: 503 });
    tenant().setFault({ kind: 'throttle', count: 0 });
    for (let i = 0; i < 5; i++) expect((await graph(sim, tok, 'healthOverviews')).status).toBe(503);
    tenant().clearFaults();
    expect((await graph(sim, tok, 'healthOverviews')).status).toBe(200);
  });

  it('faults limited to one endpoint leave the others alone', async () => {
    tenant().setFault({ kind: 'throttle', count: 1, endpoint: 'messages' });
    expect((await graph(sim, tok, 'issues')).status).toBe(200);
    expect((await graph(sim, tok, 'messages')).status).toBe(429);
    expect((await graph(sim, tok, 'messages')).status).toBe(200);
  });

  it('serverError: 500 by default, or the given status', async () => {
    tenant().setFault({ kind: 'serverError', count: 1 });
    const res = await graph(sim, tok, 'healthOverviews');
    expect([res.status, res.json().error.code]).toEqual([500, 'generalException']);
    tenant().setFault({ kind: 'serverError', count: 1, status: 503 });
    expect((await graph(sim, tok, 'healthOverviews')).status).toBe(503);
    tenant().setFault({ kind: 'serverError', count: 1, status: 504 });
    expect((await graph(sim, tok, 'healthOverviews')).status).toBe(504);
    expect((await graph(sim, tok, 'healthOverviews')).status).toBe(200);
  });

  it('slow: delays answers by delayMs for `count` requests', async () => {
    tenant().setFault({ kind: 'slow', delayMs: 300, count: 1 });
    let started = Date.now();
    expect((await graph(sim, tok, 'issues')).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    started = Date.now();
    await graph(sim, tok, 'issues');
    expect(Date.now() - started).toBeLessThan(290);
  });

  it('malformedJson: 200 with a truncated body, until cleared when no count', async () => {
    tenant().setFault({ kind: 'malformedJson' });
    for (let i = 0; i < 2; i++) {
      const res = await graph(sim, tok, 'messages');
      expect(res.status).toBe(200);
      expect(() => res.json()).toThrow();
    }
    tenant().clearFaults();
    expect((await graph(sim, tok, 'messages')).json().value).toBeInstanceOf(Array);
  });

  it('forbidden: 403 Authorization_RequestDenied until cleared', async () => {
    tenant().setFault({ kind: 'forbidden', endpoint: 'messages' });
    const res = await graph(sim, tok, 'messages');
    expect(res.status).toBe(403);
    expect(res.json().error).toMatchObject({ code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' });
    expect((await graph(sim, tok, 'messages')).status).toBe(403);
    expect((await graph(sim, tok, 'issues')).status).toBe(200);
  });

  it('setFault replaces a fault of the same kind', async () => {
    tenant().setFault({ kind: 'throttle', count: 5 });
    tenant().setFault({ kind: 'throttle', count: 1 });
    expect((await graph(sim, tok, 'issues')).status).toBe(429);
    expect((await graph(sim, tok, 'issues')).status).toBe(200);
  });
});

describe('hostile faults', () => {
  let sim: Simulator;
  let tok: string;
  beforeAll(async () => {
    sim = await startSimulator({ tenants: [TENANT] });
    tok = await token(sim);
  });
  afterEach(() => sim.tenant(TENANT.tenantId).clearFaults());
  afterAll(() => sim.stop());
  const tenant = () => sim.tenant(TENANT.tenantId);

  /** The raw bytes of an answer, not decoded. */
  const raw = (path: string) => new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    request(new URL(`/v1.0/admin/serviceAnnouncement/${path}`, sim.url), { headers: { Authorization: `Bearer ${tok}` }, ca: sim.caCertPem }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    }).on('error', reject).end();
  });

  it('redirect: the status and Location instead of the data', async () => {
    tenant().setFault({ kind: 'redirect', status: 307, location: 'http://127.0.0.1:9/x', count: 1, endpoint: 'issues' });
    const res = await graph(sim, tok, 'issues');
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe('http://127.0.0.1:9/x');
    expect((await graph(sim, tok, 'issues')).status).toBe(200);
  });

  it('oversizedBody: a valid JSON body of exactly the size asked', async () => {
    tenant().setFault({ kind: 'oversizedBody', bytes: 3_000_000, count: 1 });
    const res = await raw('healthOverviews');
    expect(res.body.length).toBe(3_000_000);
    expect(JSON.parse(res.body.toString()).value).toEqual([]);
  });

  it('gzipBomb: about 1 KB per inflated MiB, valid JSON once inflated', async () => {
    tenant().setFault({ kind: 'gzipBomb', inflatedBytes: 64 * 1_048_576, count: 1 });
    const res = await raw('issues');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.body.length).toBeLessThan(64 * 1_100);
    const inflated = gunzipSync(res.body);
    expect(inflated.length).toBe(64 * 1_048_576 + '{"value":[]}'.length);
    expect(JSON.parse(inflated.toString()).value).toEqual([]);
  });

  it('echoRequest: a 400 whose message quotes the headers, bearer token included', async () => {
    tenant().setFault({ kind: 'echoRequest', count: 1 });
    const res = await graph(sim, tok, 'messages');
    expect(res.status).toBe(400);
    expect(res.json().error.message.split('\n')[0]).toContain(`authorization: Bearer ${tok}`);
  });

  it('throttle with a verbatim Retry-After', async () => {
    tenant().setFault({ kind: 'throttle', count: 1, retryAfter: '-5' });
    expect((await graph(sim, tok, 'issues')).headers['retry-after']).toBe('-5');
  });

  it('tokenHang: the token request is read and never answered', async () => {
    tenant().setFault({ kind: 'tokenHang' });
    const before = tenant().tokenRequests;
    const answered = await Promise.race([token(sim).then(() => true, () => true), new Promise((resolve) => setTimeout(() => resolve(false), 500))]);
    expect(answered).toBe(false);
    expect(tenant().tokenRequests).toBe(before + 1);
  });

  it('revokeTokens: tokens issued before answer 401 InvalidAuthenticationToken, new ones work', async () => {
    const old = await token(sim);
    tenant().revokeTokens();
    const refused = await graph(sim, old, 'issues');
    expect(refused.status).toBe(401);
    expect(refused.json().error.code).toBe('InvalidAuthenticationToken');
    expect((await graph(sim, await token(sim), 'issues')).status).toBe(200);
  });
});
