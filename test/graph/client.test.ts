import { getEventListeners } from 'node:events';
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestBudget } from '../../src/graph/budget.js';
import { Outbound, dispatcherFor } from '../../src/auth/outbound.js';
import { GraphClient, parseRetryAfter, type GraphClientOptions } from '../../src/graph/client.js';
import {
  BudgetExhaustedError, GraphError, InvalidResponseError, PagingError, RedirectError, TimeoutError, TokenError, TooLargeError,
} from '../../src/model/errors.js';

type Handler = (req: IncomingMessage, res: ServerResponse, base: string) => void;

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** A real HTTP server on an ephemeral loopback port playing Graph. */
async function serve(handler: Handler): Promise<string> {
  let base = '';
  server = createServer((req, res) => handler(req, res, base));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return base;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

type ClientOverrides = Partial<Omit<GraphClientOptions, 'outbound'>> & { timeoutMs?: number; maxResponseBytes?: number };

function client(base: string, overrides: ClientOverrides = {}) {
  const { timeoutMs = 2_000, maxResponseBytes = 1_048_576, ...rest } = overrides;
  const responses: string[] = [];
  let throttled = 0;
  const graph = new GraphClient({
    graphEndpoint: base,
    getToken: async () => 'token-123',
    outbound: new Outbound({ dispatcher: dispatcherFor(), timeoutMs, maxResponseBytes }),
    observer: { onResponse: (_e, code) => responses.push(code), onThrottled: () => throttled++ },
    maxRetries: 3, maxBackoffMs: 5_000, maxPages: 5, pageSize: 2, concurrency: 2,
    random: () => 0,
    ...rest,
  });
  return { graph, responses, throttled: () => throttled };
}

describe('GraphClient paging', () => {
  it('follows @odata.nextLink across pages and sends $select and the page size preference', async () => {
    const seen: Array<{ url: string; prefer?: string; auth?: string }> = [];
    const base = await serve((req, res, root) => {
      seen.push({ url: req.url!, prefer: String(req.headers.prefer), auth: req.headers.authorization });
      const skip = Number(new URL(req.url!, root).searchParams.get('$skip') ?? 0);
      const value = [skip + 1, skip + 2].filter((n) => n <= 5).map((n) => ({ id: `I${n}` }));
      json(res, 200, { value, ...(skip + 2 < 5 ? { '@odata.nextLink': `${root}/v1.0/x?$select=id&$skip=${skip + 2}` } : {}) });
    });
    const { graph } = client(base);
    const items = await graph.getCollection('/v1.0/x', { endpoint: 'x', select: ['id'] });
    expect(items).toEqual([1, 2, 3, 4, 5].map((n) => ({ id: `I${n}` })));
    expect(seen).toHaveLength(3);
    expect(seen[0]).toEqual({ url: '/v1.0/x?$select=id', prefer: 'odata.maxpagesize=2', auth: 'Bearer token-123' });
  });

  it('tells a collection that answers what it answered before from a changed one, and reads known pages without parsing them', async () => {
    let title = 'first';
    let broken = false;
    const base = await serve((req, res, root) => {
      const page = Number(new URL(req.url!, root).searchParams.get('$skip') ?? 0);
      // A known page that turned into garbage can only be found out by parsing it: unchanged means byte for byte.
      if (broken && page === 1) return json(res, 200, '{"value": [');
      json(res, 200, { value: [{ id: `I${page}`, title: page === 1 ? title : 'fixed' }], ...(page === 0 ? { '@odata.nextLink': `${root}/v1.0/x?$skip=1` } : {}) });
    });
    const { graph } = client(base);
    const first = await graph.readCollection('/v1.0/x', { endpoint: 'x' }, undefined);
    expect(first).toMatchObject({ changed: true, items: [{ id: 'I0', title: 'fixed' }, { id: 'I1', title: 'first' }] });
    const digest = (first as { digest: string }).digest;
    expect(await graph.readCollection('/v1.0/x', { endpoint: 'x' }, digest)).toEqual({ changed: false });
    // Another caller without the digest still gets the items, from pages already seen.
    expect(await graph.readCollection('/v1.0/x', { endpoint: 'x' }, undefined)).toMatchObject({ changed: true, digest });
    title = 'second';
    const changed = await graph.readCollection('/v1.0/x', { endpoint: 'x' }, digest);
    expect(changed).toMatchObject({ changed: true, items: [{ id: 'I0', title: 'fixed' }, { id: 'I1', title: 'second' }] });
    broken = true;
    await expect(graph.readCollection('/v1.0/x', { endpoint: 'x' }, (changed as { digest: string }).digest)).rejects.toBeInstanceOf(InvalidResponseError);
  });

  it('stops with a PagingError after maxPages instead of paging forever', async () => {
    let requests = 0;
    const base = await serve((_req, res, root) => json(res, 200, { value: [], '@odata.nextLink': `${root}/v1.0/x?$skip=${++requests}` }));
    const { graph } = client(base, { maxPages: 4 });
    await expect(graph.getCollection('/v1.0/x', { endpoint: 'x' })).rejects.toThrow(new PagingError('x: more than 4 pages (graph.maxPages); stopped paging'));
    expect(requests).toBe(4);
  });

  it('detects a nextLink loop', async () => {
    const base = await serve((_req, res, root) => json(res, 200, { value: [{}], '@odata.nextLink': `${root}/v1.0/x?$skip=1` }));
    const { graph } = client(base);
    await expect(graph.getCollection('/v1.0/x', { endpoint: 'x' })).rejects.toThrow(/points back to a page already read/);
  });

  it('refuses a nextLink on another host, so the token never leaves Graph', async () => {
    const base = await serve((_req, res) => json(res, 200, { value: [], '@odata.nextLink': 'http://203.0.113.9/steal' }));
    const { graph } = client(base);
    await expect(graph.getCollection('/v1.0/x', { endpoint: 'x' })).rejects.toThrow(/leaves http:\/\/127\.0\.0\.1:\d+; refusing/);
  });

  it('rejects a page without a value array', async () => {
    const base = await serve((_req, res) => json(res, 200, { items: [] }));
    await expect(client(base).graph.getCollection('/v1.0/x', { endpoint: 'x' })).rejects.toBeInstanceOf(InvalidResponseError);
  });
});

describe('GraphClient retries and errors', () => {
  it('honours Retry-After on 429, counts the throttling, then succeeds', async () => {
    let calls = 0;
    const times: number[] = [];
    const base = await serve((_req, res) => {
      times.push(Date.now());
      if (++calls <= 2) json(res, 429, { error: { code: 'TooManyRequests', message: 'Please retry again later.' } }, { 'retry-after': '0.3' });
      else json(res, 200, { value: [{ id: 'ok' }] });
    });
    const { graph, responses, throttled } = client(base);
    expect(await graph.getCollection('/v1.0/x', { endpoint: 'x' })).toEqual([{ id: 'ok' }]);
    expect(responses).toEqual(['429', '429', '200']);
    expect(throttled()).toBe(2);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(290);
  });

  it('gives up after maxRetries with a typed GraphError carrying the OData code and request id', async () => {
    const base = await serve((_req, res) => json(res, 503, { error: { code: 'serviceNotAvailable', message: 'down', innerError: { 'request-id': 'r-1' } } }, { 'retry-after': '0' }));
    const { graph, responses } = client(base, { maxRetries: 2 });
    const error = await graph.getCollection('/v1.0/x', { endpoint: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).message).toBe('Graph x answered 503 serviceNotAvailable: down (request-id r-1)');
    expect(responses).toEqual(['503', '503', '503']);
  });

  it('does not wait for a Retry-After longer than maxBackoff', async () => {
    let calls = 0;
    const base = await serve((_req, res) => {
      calls++;
      json(res, 429, { error: { code: 'TooManyRequests', message: 'later' } }, { 'retry-after': '120' });
    });
    await expect(client(base).graph.getCollection('/v1.0/x', { endpoint: 'x' })).rejects.toMatchObject({ status: 429, reason: 'throttled' });
    expect(calls).toBe(1);
  });

  it('does not retry a 403 and reports it', async () => {
    let calls = 0;
    const base = await serve((_req, res) => {
      calls++;
      json(res, 403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges' } });
    });
    await expect(client(base).graph.getCollection('/v1.0/x', { endpoint: 'x' })).rejects.toThrow('Graph x answered 403 Authorization_RequestDenied: Insufficient privileges');
    expect(calls).toBe(1);
  });

  it('reports malformed JSON as InvalidResponseError without retrying', async () => {
    const base = await serve((_req, res) => json(res, 200, '{"value": [ {"id": '));
    await expect(client(base).graph.getCollection('/v1.0/x', { endpoint: 'x' })).rejects.toThrow(/x: response is not valid JSON \(19 bytes/);
  });

  it('times out a slow request', async () => {
    const base = await serve((_req, res) => setTimeout(() => json(res, 200, { value: [] }), 1_000));
    const { graph, responses } = client(base, { timeoutMs: 100, maxRetries: 1 });
    await expect(graph.getCollection('/v1.0/x', { endpoint: 'x' })).rejects.toBeInstanceOf(TimeoutError);
    expect(responses).toEqual(['timeout', 'timeout']);
  });

  it('asks for a request before the background requests that queued for a slot earlier (a slow Graph must not keep health waiting)', async () => {
    const order: string[] = [];
    const held: ServerResponse[] = [];
    let holding = true;
    const base = await serve((req, res) => {
      order.push(req.url!);
      if (holding) held.push(res);
      else json(res, 200, { value: [] });
    });
    const { graph } = client(base, { concurrency: 2 });
    const background = Array.from({ length: 6 }, (_, i) => graph.getCollection(`/v1.0/function${i}`, { endpoint: 'serviceActivity', background: true }));
    // The first two are in flight (held by the server), four wait for a slot; then health asks.
    for (let i = 0; i < 200 && order.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    const health = graph.getCollection('/v1.0/healthOverviews', { endpoint: 'healthOverviews' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toHaveLength(2);
    holding = false;
    for (const res of held) json(res, 200, { value: [] });
    await Promise.all([...background, health]);
    expect(order.slice(0, 2)).toEqual(['/v1.0/function0', '/v1.0/function1']);
    expect(order[2]).toBe('/v1.0/healthOverviews');
    expect(order.slice(3)).toEqual(['/v1.0/function2', '/v1.0/function3', '/v1.0/function4', '/v1.0/function5']);
  });

  it('refuses to send past the request budget, retries included', async () => {
    let calls = 0;
    const base = await serve((_req, res) => {
      calls++;
      json(res, 503, { error: { code: 'x', message: 'y' } }, { 'retry-after': '0' });
    });
    const budget = new RequestBudget([{ name: '1m', limit: 2, windowMs: 60_000 }]);
    await expect(client(base).graph.getCollection('/v1.0/x', { endpoint: 'x', budget })).rejects.toBeInstanceOf(BudgetExhaustedError);
    expect(calls).toBe(2);
    expect(budget.remaining()).toEqual([{ window: '1m', remaining: 0 }]);
  });
});

describe('parseRetryAfter', () => {
  it('reads fractional seconds and HTTP dates, ignores garbage', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('2.128')).toBe(2_128);
    expect(parseRetryAfter(' 0 ')).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wednesday, 21-Oct-15 07:28:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Wed Oct 21 07:28:10 2015', now)).toBe(10_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    for (const garbage of ['soon', '-5', '-0.5', '1e3', '+3', 'Infinity', '2015-10-21T07:28:10Z', 'Wed, 21 Oct 2015 07:28:10 CET', '']) {
      expect(parseRetryAfter(garbage, now), garbage).toBeUndefined();
    }
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('requests under a long-lived signal', () => {
  it('leave no abort listener behind on it (AbortSignal.any would keep each one alive)', async () => {
    const base = await serve((_req, res) => json(res, 200, { value: [] }));
    const { graph } = client(base);
    const lifetime = new AbortController();
    for (let i = 0; i < 50; i++) await graph.getCollection('/v1.0/x', { endpoint: 'x', signal: lifetime.signal });
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    // What AbortSignal.any leaves on Node 20: a dependant per call, never cleaned (nodejs/node#55351).
    const dependants = Object.getOwnPropertySymbols(lifetime.signal).find((s) => s.toString() === 'Symbol(kDependantSignals)');
    expect(dependants ? (lifetime.signal as unknown as Record<symbol, Set<unknown>>)[dependants]!.size : 0).toBe(0);
  });

  it('still abort a request in flight when the signal aborts', async () => {
    const base = await serve(() => undefined); // never answers
    const { graph } = client(base, { timeoutMs: 10_000 });
    const lifetime = new AbortController();
    const pending = graph.getCollection('/v1.0/x', { endpoint: 'x', signal: lifetime.signal });
    setTimeout(() => lifetime.abort(), 50);
    const started = Date.now();
    await expect(pending).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    server!.closeAllConnections();
  });
});

/** A second real server standing for wherever a hostile answer points; it counts what reaches it. */
async function foreign(): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const other = createServer((_req, res) => {
    hits++;
    json(res, 200, { value: [{ id: 'FOREIGN' }] });
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(other.address() as AddressInfo).port}`,
    hits: () => hits,
    close: () => new Promise<void>((resolve) => other.close(() => resolve())),
  };
}

describe('GraphClient refusals', () => {
  it.each([301, 302, 303, 307, 308])('never follows a %i, to another port or anywhere: reason redirect, no retry', async (status) => {
    const elsewhere = await foreign();
    try {
      let calls = 0;
      const base = await serve((_req, res) => {
        calls++;
        res.writeHead(status, { location: `${elsewhere.url}/v1.0/x?token=leaked` }).end();
      });
      const { graph, responses } = client(base);
      const error = await graph.getCollection('/v1.0/x', { endpoint: 'x' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedirectError);
      expect(error).toMatchObject({ reason: 'redirect', status });
      expect((error as Error).message).toBe(`x: ${base} answered ${status} ${STATUS_CODES[status]} redirecting to ${elsewhere.url}; redirects are never followed`);
      expect(elsewhere.hits()).toBe(0);
      expect(calls).toBe(1);
      expect(responses).toEqual([String(status)]);
    } finally {
      await elsewhere.close();
    }
  });

  it('refuses a 100 MB body once it passes maxResponseBytes, without reading the rest', async () => {
    let written = 0;
    const base = await serve((_req, res) => {
      // Chunked (no Content-Length), so the limit is found by counting; written only as fast as the client reads.
      res.writeHead(200, { 'content-type': 'application/json' });
      const piece = Buffer.alloc(65_536, 'x');
      const pump = () => {
        while (written < 100_000_000 && !res.destroyed) {
          written += piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.write('{"value":[],"padding":"');
      pump();
    });
    const { graph, responses } = client(base, { maxResponseBytes: 5_000_000 });
    const error = await graph.getCollection('/v1.0/x', { endpoint: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toBe(`x: the answer of ${base} exceeds 5000000 bytes (graph.maxResponseBytes); refused`);
    expect(responses).toEqual(['200']);
    // What the socket buffers held when the client stopped reading, not the 100 MB.
    expect(written).toBeLessThan(20_000_000);
  });

  it('refuses a body whose Content-Length is over the limit before reading it', async () => {
    const base = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000000' }).end());
    await expect(client(base, { maxResponseBytes: 5_000_000 }).graph.getCollection('/v1.0/x', { endpoint: 'x' })).rejects.toBeInstanceOf(TooLargeError);
  });

  it('refuses a 1 MB gzip bomb (1 GiB inflated) while it inflates, at the default limit, memory bounded', async () => {
    const member = gzipSync(Buffer.alloc(1_048_576, ' '), { level: 9 });
    const bomb = Buffer.concat([gzipSync('{"value":['), ...Array.from({ length: 1_024 }, () => member), gzipSync(']}')]);
    expect(bomb.length).toBeLessThan(1_200_000);
    const base = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(bomb));
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const error = await client(base, { maxResponseBytes: 52_428_800 }).graph.getCollection('/v1.0/x', { endpoint: 'x' }).catch((e: unknown) => e);
    const seconds = (performance.now() - started) / 1_000;
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 1_048_576;
    expect(error).toBeInstanceOf(TooLargeError);
    expect((error as Error).message).toMatch(/exceeds 52428800 bytes/);
    // Unbounded, this is a 1 GiB string (past V8's limit) after ~10 s of inflating.
    expect(seconds).toBeLessThan(5);
    expect(grownMiB).toBeLessThan(300);
    console.info(`gzip bomb refused after ${seconds.toFixed(2)} s; RSS grew ${grownMiB.toFixed(0)} MiB`);
  });

  it.each(['-5', 'soon', '1e3', '0x10', 'Wed, 21 Oct 2015 07:28:00', ''])('ignores Retry-After %j and backs off instead', async (header) => {
    const times: number[] = [];
    const base = await serve((_req, res) => {
      times.push(Date.now());
      if (times.length === 1) json(res, 503, { error: { code: 'serviceNotAvailable', message: 'down' } }, { 'retry-after': header });
      else json(res, 200, { value: [] });
    });
    // random() = 0: the first backoff is half of 1 s.
    expect(await client(base).graph.getCollection('/v1.0/x', { endpoint: 'x' })).toEqual([]);
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(480);
  });

  it('on 401 InvalidAuthenticationToken gets a new token once and retries, then succeeds', async () => {
    const seen: string[] = [];
    const base = await serve((req, res) => {
      seen.push(req.headers.authorization!);
      if (req.headers.authorization === 'Bearer revoked-token-1') json(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Continuous access evaluation resulted in challenge' } });
      else json(res, 200, { value: [{ id: 'ok' }] });
    });
    const calls: Array<string | undefined> = [];
    const getToken = async (_signal?: AbortSignal, rejected?: string) => {
      calls.push(rejected);
      return rejected ? 'fresh-token-2' : 'revoked-token-1';
    };
    const { graph, responses } = client(base, { getToken });
    expect(await graph.getCollection('/v1.0/x', { endpoint: 'x' })).toEqual([{ id: 'ok' }]);
    expect(calls).toEqual([undefined, 'revoked-token-1']);
    expect(seen).toEqual(['Bearer revoked-token-1', 'Bearer fresh-token-2']);
    expect(responses).toEqual(['401', '200']);
  });

  it('gives up after one renewal when the new token is refused too', async () => {
    let calls = 0;
    const base = await serve((_req, res) => {
      calls++;
      json(res, 401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } });
    });
    const error = await client(base).graph.getCollection('/v1.0/x', { endpoint: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect((error as Error).message).toBe('Graph x answered 401 InvalidAuthenticationToken: Access token validation failure.');
    expect(calls).toBe(2);
  });

  it('spends no request budget when sign-in fails', async () => {
    let calls = 0;
    const base = await serve((_req, res) => {
      calls++;
      json(res, 200, { value: [] });
    });
    const budget = new RequestBudget([{ name: '1m', limit: 5, windowMs: 60_000 }]);
    const getToken = () => Promise.reject(new TokenError('AADSTS7000222', 'token request for tenant t failed: AADSTS7000222: expired'));
    await expect(client(base, { getToken }).graph.getCollection('/v1.0/x', { endpoint: 'x', budget })).rejects.toBeInstanceOf(TokenError);
    expect(budget.remaining()).toEqual([{ window: '1m', remaining: 5 }]);
    expect(calls).toBe(0);
  });

  it('quotes only the first line of an error body, and never the token it echoes', async () => {
    const token = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.secret-token-body.signature';
    const base = await serve((req, res) => {
      const echo = `Authorization: ${req.headers.authorization}`;
      res.writeHead(400, `Bad ${echo}`, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'BadRequest', message: `Cannot parse; headers: ${echo}\n${echo}\nHost: x`, innerError: { 'request-id': 'r-9', echo } } }));
    });
    const error = await client(base, { getToken: async () => token }).graph.getCollection('/v1.0/x', { endpoint: 'x' }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('Graph x answered 400 BadRequest: Cannot parse; headers: Authorization: Bearer <secret> (request-id r-9)');
  });

  it('hides an echoed token in a reason phrase too, when the body is not OData', async () => {
    const token = 'eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.secret-token-body.signature';
    const base = await serve((req, res) => res.writeHead(502, `Upstream refused ${req.headers.authorization}`).end(`<html>${req.headers.authorization}</html>`));
    const error = await client(base, { getToken: async () => token, maxRetries: 0 }).graph.getCollection('/v1.0/x', { endpoint: 'x' }).catch((e: unknown) => e);
    expect((error as Error).message).toBe('Graph x answered 502 unknown: Upstream refused Bearer <secret>');
  });
});
