import { getEventListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestBudget } from '../../src/graph/budget.js';
import { GraphClient, parseRetryAfter, type GraphClientOptions } from '../../src/graph/client.js';
import { BudgetExhaustedError, GraphError, InvalidResponseError, PagingError, TimeoutError } from '../../src/model/errors.js';

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

function client(base: string, overrides: Partial<GraphClientOptions> = {}) {
  const responses: string[] = [];
  let throttled = 0;
  const graph = new GraphClient({
    graphEndpoint: base,
    getToken: async () => 'token-123',
    observer: { onResponse: (_e, code) => responses.push(code), onThrottled: () => throttled++ },
    timeoutMs: 2_000, maxRetries: 3, maxBackoffMs: 5_000, maxPages: 5, pageSize: 2, concurrency: 2,
    random: () => 0,
    ...overrides,
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
    const error = await graph.getJson('/v1.0/x', { endpoint: 'x' }).catch((e: unknown) => e);
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
    await expect(client(base).graph.getJson('/v1.0/x', { endpoint: 'x' })).rejects.toMatchObject({ status: 429, reason: 'throttled' });
    expect(calls).toBe(1);
  });

  it('does not retry a 403 and reports it', async () => {
    let calls = 0;
    const base = await serve((_req, res) => {
      calls++;
      json(res, 403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges' } });
    });
    await expect(client(base).graph.getJson('/v1.0/x', { endpoint: 'x' })).rejects.toThrow('Graph x answered 403 Authorization_RequestDenied: Insufficient privileges');
    expect(calls).toBe(1);
  });

  it('reports malformed JSON as InvalidResponseError without retrying', async () => {
    const base = await serve((_req, res) => json(res, 200, '{"value": [ {"id": '));
    await expect(client(base).graph.getJson('/v1.0/x', { endpoint: 'x' })).rejects.toThrow(/x: response is not valid JSON \(19 bytes/);
  });

  it('times out a slow request', async () => {
    const base = await serve((_req, res) => setTimeout(() => json(res, 200, { value: [] }), 1_000));
    const { graph, responses } = client(base, { timeoutMs: 100, maxRetries: 1 });
    await expect(graph.getJson('/v1.0/x', { endpoint: 'x' })).rejects.toBeInstanceOf(TimeoutError);
    expect(responses).toEqual(['timeout', 'timeout']);
  });

  it('refuses to send past the request budget, retries included', async () => {
    let calls = 0;
    const base = await serve((_req, res) => {
      calls++;
      json(res, 503, { error: { code: 'x', message: 'y' } }, { 'retry-after': '0' });
    });
    const budget = new RequestBudget([{ name: '1m', limit: 2, windowMs: 60_000 }]);
    await expect(client(base).graph.getJson('/v1.0/x', { endpoint: 'x', budget })).rejects.toBeInstanceOf(BudgetExhaustedError);
    expect(calls).toBe(2);
    expect(budget.remaining()).toEqual([{ window: '1m', remaining: 0 }]);
  });
});

describe('parseRetryAfter', () => {
  it('reads fractional seconds and HTTP dates, ignores garbage', () => {
    expect(parseRetryAfter('2.128')).toBe(2_128);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('requests under a long-lived signal', () => {
  it('leave no abort listener behind on it (AbortSignal.any would keep each one alive)', async () => {
    const base = await serve((_req, res) => json(res, 200, { value: [] }));
    const { graph } = client(base);
    const lifetime = new AbortController();
    for (let i = 0; i < 50; i++) await graph.getJson('/v1.0/x', { endpoint: 'x', signal: lifetime.signal });
    expect(getEventListeners(lifetime.signal, 'abort')).toHaveLength(0);
    // What AbortSignal.any leaves on Node 20: a dependant per call, never cleaned (nodejs/node#55351).
    const dependants = Object.getOwnPropertySymbols(lifetime.signal).find((s) => s.toString() === 'Symbol(kDependantSignals)');
    expect(dependants ? (lifetime.signal as unknown as Record<symbol, Set<unknown>>)[dependants]!.size : 0).toBe(0);
  });

  it('still abort a request in flight when the signal aborts', async () => {
    const base = await serve(() => undefined); // never answers
    const { graph } = client(base, { timeoutMs: 10_000 });
    const lifetime = new AbortController();
    const pending = graph.getJson('/v1.0/x', { endpoint: 'x', signal: lifetime.signal });
    setTimeout(() => lifetime.abort(), 50);
    const started = Date.now();
    await expect(pending).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    server!.closeAllConnections();
  });
});
