/**
 * The exposition store and the HTTP serving on top of it, with tenants played by plain objects: families are rendered
 * when a group changes (never at scrape time), gzip members concatenate into one valid stream, OpenMetrics and text
 * are negotiated, HEAD and Content-Length are right.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gunzipSync, gzipSync } from 'node:zlib';
import { pino } from 'pino';
import { Gauge, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SampleWriter } from '../../src/collectors/types.js';
import { createGlobalMetrics } from '../../src/exposition/global.js';
import { ExpositionStore, type ExposedTenant, type ScrapeBody } from '../../src/exposition/store.js';
import { METRICS } from '../../src/model/metrics.js';
import type { SeriesGroup } from '../../src/runtime/tenant.js';
import { acceptsGzip, createApp, negotiateFormat } from '../../src/server/app.js';
import { WebSecurity } from '../../src/server/security.js';
import { parseExposition, select } from '../helpers/exposition.js';

/** A body's bytes, checked against the length it announces (the Content-Length), if it announces one. */
async function read(body: Promise<ScrapeBody>): Promise<Buffer> {
  const answer = await body;
  if ('rest' in answer) return Buffer.concat([...answer.buffers, ...await answer.rest()]);
  const chunks: Buffer[] = 'buffers' in answer ? answer.buffers : [];
  if ('stream' in answer) for await (const chunk of answer.stream) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  expect(bytes.length).toBe(answer.length);
  return bytes;
}

/** A GET's body as sent, never inflated, with its headers. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ body: Buffer; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ body: Buffer.concat(chunks), headers: res.headers }));
      res.on('error', reject);
    }).on('error', reject).end();
  });
}

/** The exporter's HTTP handler over a store, on an ephemeral loopback port; `close` ends its connections too. */
async function listenWith(store: ExpositionStore, tenantNames: string[]): Promise<{ server: Server; url: string; close: () => Promise<void> }> {
  const app = createApp({
    exposition: store, tenantNames: () => tenantNames, isReady: () => true, version: '0.0.0',
    security: new WebSecurity({ logger: pino({ enabled: false }), onSecrets: () => undefined }), reload: async () => ({ ok: true }), tenants: () => [],
  });
  const server = await new Promise<Server>((resolve) => {
    const s = createServer(app).listen(0, '127.0.0.1', () => resolve(s));
  });
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close };
}

/** A tenant with one data group (services) and a budgets group; counts how often the data group is written. */
function fakeTenant(name: string, services: number) {
  let listener: ((changed: SeriesGroup[]) => void) | undefined;
  const writes = { data: 0 };
  const state = { services, version: 1 };
  const data: SeriesGroup = {
    name: 'health',
    get version() {
      return state.version;
    },
    write(out: SampleWriter) {
      writes.data++;
      for (let i = 0; i < state.services; i++) out.add(METRICS.serviceOperational, { service_id: `svc${i}` }, i % 2);
      out.add(METRICS.graphRequests, { endpoint: 'issues', code: '200' }, 7);
    },
  };
  const budgets: SeriesGroup = {
    name: 'budgets', version: 1,
    write(out: SampleWriter) {
      out.add(METRICS.requestBudgetRemaining, { api: 'serviceCommunications', window: '1m' }, 240);
    },
  };
  const tenant: ExposedTenant = { name, groups: [data, budgets], onChange: (l) => void (listener = l) };
  return {
    tenant, writes,
    refresh(servicesNow: number) {
      state.services = servicesNow;
      state.version++;
      listener?.([data]);
    },
  };
}

describe('ExpositionStore', () => {
  it('renders a group when it changes, not when it is scraped', async () => {
    const a = fakeTenant('a', 3);
    const store = new ExpositionStore(new Registry());
    store.add(a.tenant);
    await store.settled();
    expect(a.writes.data).toBe(1);
    await store.body({ format: 'text', gzip: false });
    await store.body({ format: 'text', gzip: true });
    await store.body({ format: 'text', gzip: true, tenant: 'a' });
    expect(a.writes.data).toBe(1);
    a.refresh(5);
    await store.settled();
    expect(a.writes.data).toBe(2);
    const text = (await read(store.body({ format: 'text', gzip: false, tenant: 'a' }))).toString();
    expect(select(parseExposition(text), 'm365_service_operational')).toHaveLength(5);
    expect(a.writes.data).toBe(2);
  });

  it('writes each family once with every tenant\'s lines under it, and drops what a group no longer writes', async () => {
    const a = fakeTenant('a', 2);
    const b = fakeTenant('b', 1);
    const store = new ExpositionStore(new Registry());
    store.add(a.tenant);
    store.add(b.tenant);
    await store.settled();
    const text = (await read(store.body({ format: 'text', gzip: false }))).toString();
    expect(text.match(/^# TYPE m365_service_operational gauge$/gm)).toHaveLength(1);
    const family = text.slice(text.indexOf('# TYPE m365_service_operational'), text.indexOf('# HELP', text.indexOf('# TYPE m365_service_operational')));
    expect(family.trim().split('\n').slice(1)).toEqual([
      'm365_service_operational{tenant="a",service_id="svc0"} 0',
      'm365_service_operational{tenant="a",service_id="svc1"} 1',
      'm365_service_operational{tenant="b",service_id="svc0"} 0',
    ]);
    b.refresh(0);
    await store.settled();
    const after = parseExposition((await read(store.body({ format: 'text', gzip: false }))).toString());
    expect(select(after, 'm365_service_operational', { tenant: 'b' })).toEqual([]);
    expect(select(after, 'm365_service_operational', { tenant: 'a' })).toHaveLength(2);
  });

  it('serves gzip as concatenated members that inflate to exactly the plain text', async () => {
    const store = new ExpositionStore(new Registry());
    for (let i = 0; i < 5; i++) store.add(fakeTenant(`t${i}`, 40).tenant);
    await store.settled();
    const plain = (await read(store.body({ format: 'openmetrics', gzip: false }))).toString();
    const gzipped = await read(store.body({ format: 'openmetrics', gzip: true }));
    expect(gunzipSync(gzipped).toString()).toBe(plain);
    expect(gzipped.length * 2).toBeLessThan(plain.length);
    expect(plain.endsWith('# EOF\n')).toBe(true);
  });
});

describe('ExpositionStore gzip for a fleet', () => {
  /** Plain and gzip bodies of /metrics and /probe agree, byte for byte, after inflating. */
  async function expectGzipMatchesText(store: ExpositionStore, probe: string) {
    for (const tenant of [undefined, probe]) {
      const plain = await read(store.body({ format: 'openmetrics', gzip: false, tenant }));
      const gzipped = await read(store.body({ format: 'openmetrics', gzip: true, tenant }));
      expect(gunzipSync(gzipped).equals(plain)).toBe(true);
    }
  }

  it('stays one valid stream, about as small as gzip of the whole text, as tenants change, leave, return and are replaced', async () => {
    const tenants = Array.from({ length: 70 }, (_, i) => fakeTenant(`t${String(i).padStart(2, '0')}`, 200));
    const store = new ExpositionStore(new Registry());
    for (const t of tenants) store.add(t.tenant);
    await store.settled();
    await expectGzipMatchesText(store, 't00');
    const plain = await read(store.body({ format: 'text', gzip: false }));
    const gzipped = await read(store.body({ format: 'text', gzip: true }));
    // The process metrics go uncompressed (stored blocks); the tenants' lines compress as well as one stream would.
    expect(gzipped.length).toBeLessThan(gzipSync(plain).length * 1.3);
    // The store keeps no text: a fleet's is inflated from the stream as it is sent, its length known beforehand.
    expect('stream' in await store.body({ format: 'text', gzip: false })).toBe(true);
    expect(plain.length).toBeGreaterThan(70 * 200 * 50);

    tenants[33]!.refresh(5); // the second block's second tenant: it and the one after it are recompressed
    tenants[0]!.refresh(0);
    await store.settled();
    await expectGzipMatchesText(store, 't33');
    const text = (await read(store.body({ format: 'text', gzip: false }))).toString();
    expect(select(parseExposition(text), 'm365_service_operational', { tenant: 't33' })).toHaveLength(5);

    store.remove('t34');
    store.remove('t69');
    // Gone from the compressed stream at once, as from the text, not only once the next round of compression ran.
    const right = gunzipSync(await read(store.body({ format: 'text', gzip: true }))).toString();
    expect(right).not.toContain('tenant="t34"');
    expect(right).toContain('tenant="t35"');
    await store.settled();
    await expectGzipMatchesText(store, 't35');
    expect(select(parseExposition((await read(store.body({ format: 'text', gzip: false }))).toString()), 'm365_exporter_graph_requests_total')).toHaveLength(68);

    store.add(fakeTenant('newcomer', 3).tenant); // takes the free place in the second block
    store.add(fakeTenant('t10', 2).tenant); // a reload's replacement, in its predecessor's place
    await store.settled();
    await expectGzipMatchesText(store, 't10');
    const after = parseExposition(gunzipSync(await read(store.body({ format: 'text', gzip: true }))).toString());
    expect(select(after, 'm365_service_operational', { tenant: 'newcomer' })).toHaveLength(3);
    expect(select(after, 'm365_service_operational', { tenant: 't10' })).toHaveLength(2);
    expect(select(after, 'm365_exporter_graph_requests_total')).toHaveLength(69);
  });
});

describe('ExpositionStore consistency', () => {
  it('shows a group\'s families from one rendering at every moment, across blocks and while compressions run', async () => {
    // Each tenant writes one counter into two families; a scrape must never see them disagree for a tenant.
    const state = { n: 0 };
    const tenants = Array.from({ length: 40 }, (_, t) => {
      const group: SeriesGroup = {
        name: 'health',
        get version() {
          return state.n + 1;
        },
        write(out: SampleWriter) {
          for (let i = 0; i < 50; i++) out.add(METRICS.serviceOperational, { service_id: `svc${i}` }, state.n);
          for (let i = 0; i < 50; i++) out.add(METRICS.graphRequests, { endpoint: `e${i}`, code: '200' }, state.n);
        },
      };
      const tenant = { name: `t${t}`, group, listener: undefined as ((changed: SeriesGroup[]) => void) | undefined };
      return { ...tenant, exposed: { name: tenant.name, groups: [group], onChange: (l: (changed: SeriesGroup[]) => void) => void (tenant.listener = l) } as ExposedTenant, tenant };
    });
    const store = new ExpositionStore(new Registry());
    for (const t of tenants) store.add(t.exposed);
    await store.settled();
    for (let round = 0; round < 30; round++) {
      state.n++;
      for (const t of tenants) t.tenant.listener?.([t.group]);
      for (let look = 0; look < 3; look++) {
        await new Promise((resolve) => setImmediate(resolve));
        const samples = parseExposition(gunzipSync(await read(store.body({ format: 'text', gzip: true }))).toString());
        for (let t = 0; t < 40; t += 13) {
          const operational = new Set(select(samples, 'm365_service_operational', { tenant: `t${t}` }).map((s) => s.value));
          const requests = new Set(select(samples, 'm365_exporter_graph_requests_total', { tenant: `t${t}` }).map((s) => s.value));
          expect([...operational]).toEqual([...requests]);
          expect(operational.size).toBe(1);
        }
      }
    }
    await store.settled();
  });
});

describe('ExpositionStore under a stream of changes', () => {
  it('brings the compressed stream up to date while changes keep arriving', async () => {
    const tenants = Array.from({ length: 40 }, (_, i) => fakeTenant(`t${String(i).padStart(2, '0')}`, 20));
    const store = new ExpositionStore(new Registry());
    for (const t of tenants) store.add(t.tenant);
    // Four tenants change at every turn of the event loop, as a fleet's refreshes do, until the last tenant (second
    // block) shows in the gzip body: renders never stop arriving, so the compression must not wait for a quiet moment.
    let changing = true;
    const churn = (async () => {
      for (let n = 0; changing && n < 100_000; n++) {
        for (let k = 0; k < 4; k++) tenants[(4 * n + k) % 20]!.refresh(20 + (n % 3));
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const shown = async () => gunzipSync(await read(store.body({ format: 'text', gzip: true }))).toString().includes('tenant="t39"');
    const deadline = Date.now() + 10_000;
    let seen = false;
    while (!seen && Date.now() < deadline) {
      seen = await shown();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    changing = false;
    await churn;
    expect(seen).toBe(true);
    expect(store.rendered('t39')).toBe(true);
  });
});

describe('content negotiation', () => {
  it('prefers OpenMetrics as Prometheus asks for it, text otherwise', () => {
    const prometheus = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    expect(negotiateFormat(prometheus)).toBe('openmetrics');
    expect(negotiateFormat(undefined)).toBe('text');
    expect(negotiateFormat('*/*')).toBe('text');
    expect(negotiateFormat('text/plain;version=0.0.4')).toBe('text');
    expect(negotiateFormat('application/openmetrics-text;q=0')).toBe('text');
    expect(acceptsGzip('gzip')).toBe(true);
    expect(acceptsGzip('deflate, gzip;q=0.5')).toBe(true);
    expect(acceptsGzip('gzip;q=0')).toBe(false);
    expect(acceptsGzip(undefined)).toBe(false);
  });
});

describe('HTTP serving', () => {
  let url = '';
  let close: () => Promise<void>;
  beforeAll(async () => {
    // The exporter's own process metrics, read at each scrape; a gzip scrape of /metrics split whatever its size.
    const store = new ExpositionStore(createGlobalMetrics('0.0.0').registry, { splitBodyBytes: 0 });
    store.add(fakeTenant('contoso', 40).tenant);
    // A fleet whose text is large enough to be inflated as it is sent (see the last test).
    for (let i = 0; i < 30; i++) store.add(fakeTenant(`fleet${i}`, 400).tenant);
    await store.settled();
    ({ url, close } = await listenWith(store, ['contoso']));
  });
  afterAll(() => close());

  it('answers OpenMetrics with # EOF, gzip with Content-Encoding, and HEAD with the same length and no body', async () => {
    const headers = { Accept: 'application/openmetrics-text;version=1.0.0,text/plain;q=0.5', 'Accept-Encoding': 'gzip' };
    const get = await fetch(`${url}/metrics`, { headers });
    expect(get.headers.get('content-type')).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
    expect(get.headers.get('content-encoding')).toBe('gzip');
    expect(get.headers.get('etag')).toBeNull();
    const body = await get.text(); // fetch inflates
    expect(body.endsWith('# EOF\n')).toBe(true);
    expect(body).toContain('# TYPE m365_exporter_graph_requests counter\n');

    // Sent chunked: the process metrics are read while the tenants' lines are on their way.
    expect(get.headers.get('content-length')).toBeNull();
    expect(get.headers.get('transfer-encoding')).toBe('chunked');
    const raw = await rawGet(`${url}/metrics`, headers);
    const head = await fetch(`${url}/metrics`, { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    // The length a GET sends, give or take the process metrics, which change between two scrapes (digits, collection kinds).
    expect(Math.abs(Number(head.headers.get('content-length')) - raw.body.length)).toBeLessThan(1_000);
    expect(await head.text()).toBe('');
    const probeHead = await fetch(`${url}/probe?tenant=contoso`, { method: 'HEAD', headers });
    const probeGet = await fetch(`${url}/probe?tenant=contoso`, { headers });
    expect(probeHead.headers.get('content-length')).toBe(probeGet.headers.get('content-length'));
    expect(Number(probeGet.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await probeHead.text()).toBe('');
    await probeGet.arrayBuffer();

    const text = await fetch(`${url}/probe?tenant=contoso`, { headers: { 'Accept-Encoding': 'identity' } });
    expect(text.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(text.headers.get('content-encoding')).toBeNull();
    const probe = await text.text();
    expect(Number(text.headers.get('content-length'))).toBe(Buffer.byteLength(probe));
    expect(probe).toContain('# TYPE m365_exporter_graph_requests_total counter\n');
    expect(probe).not.toContain('# EOF');
    expect(probe).not.toContain('m365_exporter_build_info');
  });

  it('sends a gzip scrape chunked: the tenants\' lines, then the process metrics read meanwhile, then # EOF', async () => {
    const headers = { Accept: 'application/openmetrics-text;version=1.0.0', 'Accept-Encoding': 'gzip' };
    const { body, headers: sent } = await rawGet(`${url}/metrics`, headers);
    expect(sent['transfer-encoding']).toBe('chunked');
    const text = gunzipSync(body).toString();
    const lines = text.split('\n');
    const lastTenantLine = lines.findLastIndex((line) => line.includes('tenant="'));
    const firstProcessLine = lines.findIndex((line) => line.startsWith('process_cpu_seconds_total') || line.startsWith('m365_exporter_build_info'));
    expect(lastTenantLine).toBeGreaterThan(0);
    expect(firstProcessLine).toBeGreaterThan(lastTenantLine);
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text.match(/^# EOF$/gm)).toHaveLength(1);
    // The same text, in the same order, as a scrape without gzip (the process metrics' values aside).
    const plain = await (await fetch(`${url}/metrics`, { headers: { Accept: headers.Accept, 'Accept-Encoding': 'identity' } })).text();
    const names = (exposition: string) => exposition.split('\n').filter((line) => line.startsWith('# TYPE')).join('\n');
    expect(names(text)).toBe(names(plain));
  });

  it('sends a small fleet\'s gzip scrape whole, with its length, the process metrics still last', async () => {
    const store = new ExpositionStore(createGlobalMetrics('0.0.0').registry);
    store.add(fakeTenant('contoso', 40).tenant);
    await store.settled();
    const body = await store.body({ format: 'openmetrics', gzip: true });
    expect('length' in body && 'buffers' in body).toBe(true);
    const bytes = await read(Promise.resolve(body));
    const text = gunzipSync(bytes).toString();
    expect(text.indexOf('process_cpu_seconds_total')).toBeGreaterThan(text.lastIndexOf('tenant="'));
    expect(text.endsWith('# EOF\n')).toBe(true);
    // A fleet whose compressed lines reach the threshold is split.
    const split = new ExpositionStore(createGlobalMetrics('0.0.0').registry, { splitBodyBytes: 1 });
    split.add(fakeTenant('contoso', 40).tenant);
    await split.settled();
    expect('rest' in await split.body({ format: 'openmetrics', gzip: true })).toBe(true);
    expect('rest' in await split.body({ format: 'openmetrics', gzip: true, head: true })).toBe(false);
  });

  it('sends every one of several gzip scrapes at once whole, each from a buffer of its own', async () => {
    const headers = { 'Accept-Encoding': 'gzip' };
    const tenantLines = (body: Buffer) => gunzipSync(body).toString().split('\n').filter((line) => line.includes('tenant="')).join('\n');
    const alone = tenantLines((await rawGet(`${url}/metrics`, headers)).body);
    const together = await Promise.all(Array.from({ length: 6 }, () => rawGet(`${url}/metrics`, headers)));
    for (const { body } of together) expect(tenantLines(body)).toBe(alone);
    // And again, from the buffers the first ones left for reuse.
    for (const { body } of await Promise.all(Array.from({ length: 3 }, () => rawGet(`${url}/metrics`, headers)))) expect(tenantLines(body)).toBe(alone);
  });

  it('has the tenants\' lines on their way before it reads the process metrics', async () => {
    const sockets: Socket[] = [];
    /** Bytes of the response handed to the operating system when the process metrics were read. */
    let sentWhenRead = -1;
    const registry = new Registry();
    new Gauge({
      name: 'read_at_scrape', help: 'notes what was sent when it is read', registers: [registry],
      collect() {
        sentWhenRead = sockets.reduce((sum, socket) => sum + socket.bytesWritten - socket.writableLength, 0);
        this.set(1);
      },
    });
    const store = new ExpositionStore(registry, { splitBodyBytes: 0 });
    for (let i = 0; i < 5; i++) store.add(fakeTenant(`t${i}`, 400).tenant);
    await store.settled();
    const { server, url: at, close: closeServer } = await listenWith(store, []);
    server.on('connection', (socket) => sockets.push(socket));
    try {
      const { body } = await rawGet(`${at}/metrics`, { 'Accept-Encoding': 'gzip' });
      expect(gunzipSync(body).toString()).toContain('read_at_scrape 1');
      // The first part had gone to the operating system (held back, it would still be in the socket's buffer: 0).
      expect(sentWhenRead).toBeGreaterThan(0);
    } finally {
      await closeServer();
    }
  });

  it('cuts a gzip scrape short when the process metrics cannot be read, so the scraper cannot take it for complete', async () => {
    const registry = new Registry();
    new Gauge({ name: 'broken', help: 'fails', registers: [registry], collect() { throw new Error('cannot read /proc'); } });
    const store = new ExpositionStore(registry, { splitBodyBytes: 0 });
    store.add(fakeTenant('contoso', 40).tenant);
    await store.settled();
    const broken = await listenWith(store, ['contoso']);
    try {
      const at = `${broken.url}/metrics`;
      await expect(rawGet(at, { 'Accept-Encoding': 'gzip' })).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
      // Without gzip the failure comes before anything is sent: a 500 that names it.
      const plain = await fetch(at, { headers: { 'Accept-Encoding': 'identity' } });
      expect(plain.status).toBe(500);
      expect(await plain.text()).toContain('cannot read /proc');
    } finally {
      await broken.close();
    }
  });

  it('sends a fleet\'s text inflated from the gzip stream as it goes, with the Content-Length it announced, and HEAD without inflating', async () => {
    const gzip = await fetch(`${url}/metrics`, { headers: { 'Accept-Encoding': 'gzip' } });
    const fromGzip = await gzip.text(); // fetch inflates
    const plain = await fetch(`${url}/metrics`, { headers: { 'Accept-Encoding': 'identity' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    const text = await plain.text();
    expect(Number(plain.headers.get('content-length'))).toBe(Buffer.byteLength(text));
    expect(Buffer.byteLength(text)).toBeGreaterThan(30 * 400 * 50);
    expect(select(parseExposition(text), 'm365_service_operational', { tenant: 'fleet29' })).toHaveLength(400);
    // The same lines as the gzip body, less the process metrics, which are read at each scrape.
    const tenantLines = (body: string) => body.split('\n').filter((line) => line.includes('tenant="')).join('\n');
    expect(tenantLines(text)).toBe(tenantLines(fromGzip));
    const head = await fetch(`${url}/metrics`, { method: 'HEAD', headers: { 'Accept-Encoding': 'identity' } });
    // The text's length, give or take the process metrics' digits, which change between two scrapes.
    expect(Math.abs(Number(head.headers.get('content-length')) - Buffer.byteLength(text))).toBeLessThan(1_000);
    expect(await head.text()).toBe('');
  });

  it('answers scrapes the express routes would answer the same way, and leaves malformed ones to them', async () => {
    // Served directly: headers of every response, and the same body as the case-insensitive express route gives.
    const direct = await fetch(`${url}/probe?tenant=contoso`, { headers: { 'Accept-Encoding': 'identity' } });
    const routed = await fetch(`${url}/PROBE?tenant=contoso`, { headers: { 'Accept-Encoding': 'identity' } });
    expect(direct.headers.get('x-content-type-options')).toBe('nosniff');
    expect(routed.status).toBe(200);
    expect(await direct.text()).toBe(await routed.text());
    // Malformed or unknown: the routes' answers.
    expect((await fetch(`${url}/probe?tenant=contoso&tenant=other`)).status).toBe(400);
    expect(await (await fetch(`${url}/probe?tenant=nobody`)).text()).toContain('unknown tenant "nobody"');
    expect((await fetch(`${url}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('ExpositionStore under change', () => {
  it('keeps serving the previous rendering until the new one is compressed, and never a mix', async () => {
    const a = fakeTenant('a', 10);
    const store = new ExpositionStore(new Registry());
    store.add(a.tenant);
    await store.settled();
    a.refresh(20);
    // Before the render (queued) and its compression (thread pool) finish, a scrape sees the complete old rendering.
    const during = parseExposition((await read(store.body({ format: 'text', gzip: false }))).toString());
    expect([10, 20]).toContain(select(during, 'm365_service_operational').length);
    await store.settled();
    const after = parseExposition(gunzipSync(await read(store.body({ format: 'text', gzip: true }))).toString());
    expect(select(after, 'm365_service_operational')).toHaveLength(20);
  });

  it('renders changes that arrive while earlier renders are still compressing', async () => {
    const a = fakeTenant('a', 1);
    const store = new ExpositionStore(new Registry());
    store.add(a.tenant);
    for (let n = 2; n <= 30; n++) {
      a.refresh(n);
      if (n % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await store.settled();
    const text = (await read(store.body({ format: 'text', gzip: false }))).toString();
    expect(select(parseExposition(text), 'm365_service_operational')).toHaveLength(30);
    expect(store.rendered('a')).toBe(true);
  });
});
