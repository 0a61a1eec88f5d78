import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import { CONTENT_TYPES, type ExpositionFormat } from '../exposition/render.js';
import type { ExpositionStore } from '../exposition/store.js';
import type { DailyHistory } from '../history/daily.js';
import type { Tenant } from '../runtime/tenant.js';
import type { WebSecurity } from './security.js';
import { viewRoutes } from './views.js';

/** What a configuration reload came to; the error names what is wrong, never a secret (a ConfigError's message). */
export type ReloadOutcome = { ok: true } | { ok: false; error: string };

export interface AppOptions {
  exposition: ExpositionStore;
  /** Configured tenant names, for the landing page. */
  tenantNames(): string[];
  /** True once every tenant finished its first refresh, or the ready timeout passed. */
  isReady(): boolean;
  version: string;
  /** The web config in force: basic auth and extra headers. */
  security: WebSecurity;
  /** Reads the configuration again and applies it (POST /-/reload; SIGHUP does the same). */
  reload(): Promise<ReloadOutcome>;
  /** GET /api/v1/history: per-day history of a running tenant (src/history/). */
  history?: { readonly retentionDays: number; daily(tenant: string, days: number): Promise<DailyHistory | undefined> };
  /** The running tenants, for the legacy API and the feeds (src/server/views.ts). */
  tenants(): readonly Tenant[];
}

/** Methods each path answers; any other method is a 405 with these in Allow. */
const ALLOWED: Record<string, string> = {
  '/': 'GET, HEAD', '/metrics': 'GET, HEAD', '/probe': 'GET, HEAD', '/-/healthy': 'GET, HEAD', '/-/ready': 'GET, HEAD', '/-/reload': 'POST',
  '/api/v1/history': 'GET, HEAD',
};

/**
 * The landing page loads nothing and is never framed (https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy);
 * a web config's own Content-Security-Policy or X-Frame-Options replaces these.
 */
const LANDING_PAGE_HEADERS = { 'Content-Security-Policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'", 'X-Frame-Options': 'DENY' };

/**
 * Every response, errors and 401s included, gets nosniff and the web config's headers; then basic auth, on every path
 * as exporter-toolkit does (health checks included: a probe sends the credentials, or checks the TCP port). False
 * when the request was answered with 401.
 */
async function admit(req: IncomingMessage, res: ServerResponse, security: WebSecurity): Promise<boolean> {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  for (const [name, value] of Object.entries(security.current().headers)) res.setHeader(name, value);
  if (await security.authenticate(req.headers.authorization)) return true;
  res.setHeader('WWW-Authenticate', 'Basic realm="m365-health-exporter", charset="UTF-8"');
  res.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Unauthorized\n');
  return false;
}

/**
 * The request handler: scrapes (GET or HEAD of /metrics, or of /probe with one configured tenant) and health checks
 * are answered directly, as they come every few seconds from every Prometheus and every Kubernetes probe, often at the
 * same moment, and a scrape of a small tenant or a health check costs less than express's setup of a request (0.3–0.6
 * ms for a /-/healthy through express, which a scrape arriving with it waited for); everything else, malformed scrapes
 * included, goes through the express routes.
 */
export function createApp(options: AppOptions): RequestListener {
  const joins = new ReusedBuffers();
  const app = expressApp(options, joins);
  const { exposition, security, isReady } = options;
  return (req, res) => {
    const request = readRequest(req);
    const target = request && scrapeTarget(request, exposition);
    const health = request && !target ? healthAnswer(request.path, isReady) : undefined;
    if (!target && !health) {
      app(req, res);
      return;
    }
    void (async () => {
      if (!(await admit(req, res, security))) return;
      if (target) await serve(req, res, exposition, target.tenant, joins);
      else res.writeHead(health!.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(health!.text) })
        .end(req.method === 'HEAD' ? undefined : health!.text);
    })().catch((error: Error) => {
      if (res.headersSent) res.destroy(error);
      else res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`internal error: ${error.message}\n`);
    });
  };
}

/** The path of a GET or HEAD request and its query, if any; undefined for other methods. */
function readRequest(req: IncomingMessage): { path: string; query?: string } | undefined {
  if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
  const url = req.url ?? '';
  const query = url.indexOf('?');
  return query < 0 ? { path: url } : { path: url.slice(0, query), query: url.slice(query + 1) };
}

/** What a well-formed scrape asks for: every tenant, or one configured tenant; undefined for anything else. */
function scrapeTarget(request: { path: string; query?: string }, exposition: ExpositionStore): { tenant?: string } | undefined {
  if (request.path === '/metrics') return {};
  if (request.path !== '/probe' || request.query === undefined) return undefined;
  const names = new URLSearchParams(request.query).getAll('tenant');
  return names.length === 1 && exposition.has(names[0]!) ? { tenant: names[0]! } : undefined;
}

/** The answer to a GET or HEAD of /-/healthy or /-/ready; undefined for any other path. */
function healthAnswer(path: string, isReady: () => boolean): { status: number; text: string } | undefined {
  switch (path) {
    case '/-/healthy':
      return { status: 200, text: 'Healthy\n' };
    case '/-/ready':
      return isReady() ? { status: 200, text: 'Ready\n' } : { status: 503, text: 'Not ready: waiting for the first refresh of every tenant\n' };
    default:
      return undefined;
  }
}

function expressApp({ exposition, tenantNames, version, security, reload, history, tenants }: AppOptions, joins: ReusedBuffers): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // The exposition is already bytes: no ETag (express would hash every body), no query-string parsing beyond one key.
  app.set('etag', false);

  app.use(async (req, res, next) => {
    if (await admit(req, res, security)) next();
  });

  app.get('/', (_req, res) => {
    for (const [name, value] of Object.entries(LANDING_PAGE_HEADERS)) if (!res.hasHeader(name)) res.setHeader(name, value);
    res.type('html').send(landingPage(version, tenantNames()));
  });

  app.get('/metrics', async (req, res) => {
    await serve(req, res, exposition, undefined, joins);
  });

  // Multi-target pattern: one configured tenant's metrics. Only configured names are accepted, so a request can
  // never make the exporter call out anywhere, and the answer never lists the configured tenants.
  app.get('/probe', async (req, res) => {
    const name = req.query.tenant;
    if (typeof name !== 'string' || name === '') {
      res.status(400).type('text').send('missing parameter "tenant": use /probe?tenant=NAME with a tenant name from the config\n');
      return;
    }
    if (!exposition.has(name)) {
      res.status(400).type('text').send(`unknown tenant ${JSON.stringify(name.slice(0, 100))}: not in the configuration\n`);
      return;
    }
    await serve(req, res, exposition, name, joins);
  });

  // As /probe: a configured name only, and an unknown one is never listed back.
  app.get('/api/v1/history', async (req, res) => {
    const { tenant, days = '7' } = req.query;
    const limit = history?.retentionDays ?? 0;
    if (typeof tenant !== 'string' || tenant === '') {
      res.status(400).type('text').send('missing parameter "tenant": use /api/v1/history?tenant=NAME&days=N with a tenant name from the config\n');
      return;
    }
    if (typeof days !== 'string' || !/^\d{1,4}$/.test(days) || Number(days) < 1 || Number(days) > limit) {
      res.status(400).type('text').send(`parameter "days" must be a whole number from 1 to ${limit} (storage.retention)\n`);
      return;
    }
    let body: DailyHistory | undefined;
    try {
      body = await history?.daily(tenant, Number(days));
    } catch (error) {
      res.status(503).type('text').send(`the history store cannot answer: ${(error as Error).message}\n`);
      return;
    }
    if (!body) {
      res.status(400).type('text').send(`unknown tenant ${JSON.stringify(tenant.slice(0, 100))}: not in the configuration\n`);
      return;
    }
    res.json(body);
  });

  app.post('/-/reload', async (_req, res) => {
    const outcome = await reload();
    if (outcome.ok) res.type('text').send('Reloaded\n');
    else res.status(500).type('text').send(`failed to reload the configuration; the running one stays:\n${outcome.error}\n`);
  });

  app.use(viewRoutes(tenants, history));

  for (const [path, allow] of Object.entries(ALLOWED)) {
    app.all(path, (req, res) => {
      res.setHeader('Allow', allow);
      res.status(405).type('text').send(`method ${req.method} not allowed; ${path} answers ${allow}\n`);
    });
  }

  app.use((_req, res) => {
    res.status(404).type('text').send('Not found. See / for the endpoints.\n');
  });

  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).type('text').send(`internal error: ${error.message}\n`);
  });
  return app;
}

/**
 * Writes the exposition as it is stored: buffers, never joined into one string; text inflated as it is sent; a gzip
 * scrape of /metrics in two parts, the process metrics read while the tenants' lines are on their way.
 */
async function serve(req: IncomingMessage, res: ServerResponse, exposition: ExpositionStore, tenant: string | undefined, joins: ReusedBuffers): Promise<void> {
  const format = negotiateFormat(req.headers.accept);
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  const body = await exposition.body({ format, gzip, tenant, head: req.method === 'HEAD' });
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPES[format],
    Vary: 'Accept, Accept-Encoding',
    ...(gzip && { 'Content-Encoding': 'gzip' }),
    ...('length' in body && { 'Content-Length': body.length }),
  });
  if ('rest' in body) {
    // Chunked: Node.js frames each write as a chunk of its own, so the stored parts go as one. It hands a response's
    // writes to the socket on the next tick, after the microtasks that reading the rest runs in: that tick comes
    // first, or the rest would be read before anything is sent. A failure reading the rest cuts the body short of its
    // last chunk, so the scraper cannot take it for complete.
    res.write(joins.join(body.buffers, res));
    await new Promise<void>((resolve) => process.nextTick(resolve));
    await body.rest().then((rest) => res.end(Buffer.concat(rest)), (error: Error) => res.destroy(error));
  } else if (req.method === 'HEAD') res.end();
  // Backpressure from the socket; a scraper that goes away stops the inflation, and a failure cuts the response short
  // of its Content-Length, so the scraper cannot take it for complete.
  else if ('stream' in body) pipeline(body.stream, res, (error) => error && res.destroy(error));
  else if (body.buffers.length === 1) res.end(body.buffers[0]);
  else writeAll(res, body.buffers);
}

/**
 * How many joined bodies are kept for reuse: one, 4 MiB at 500 tenants. Scrapes rarely overlap (a pair of Prometheus
 * servers scrapes at its own offsets); one that overlaps another gets a buffer of its own, and pays for it.
 */
const REUSED_BUFFERS = 1;

/**
 * Buffers that a split body's stored parts are copied into, reused from one scrape to the next. Reused because fresh
 * memory is faulted in page by page as it is first written: joining 500 tenants' 3.5 MiB with Buffer.concat took 4.5
 * ms on the bench machine, the copy into a reused buffer under 2 (docs/performance.md). A buffer is free again once its
 * response is done or gone: by then the socket has taken its bytes, or will never write them.
 */
class ReusedBuffers {
  readonly #free: Buffer[] = [];

  join(parts: readonly Buffer[], res: ServerResponse): Buffer {
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    let buffer = this.#free.pop();
    // An eighth to spare, so a fleet that grows a little does not need a new one at each scrape.
    if (!buffer || buffer.length < length) buffer = Buffer.allocUnsafeSlow(Math.ceil(length * 1.125));
    let offset = 0;
    for (const part of parts) offset += part.copy(buffer, offset);
    const reused = buffer;
    res.once('close', () => {
      if (this.#free.length < REUSED_BUFFERS) this.#free.push(reused);
    });
    return buffer.subarray(0, length);
  }
}

/**
 * Hands every stored buffer to the socket in one writev, none copied: they are already in memory and immutable, so
 * waiting for 'drain' between them would save nothing and leave the rest of the body waiting behind whatever else
 * the event loop runs (refreshes, renders); libuv writes what the socket takes at once and the rest as it drains.
 */
function writeAll(res: ServerResponse, parts: Buffer[]): void {
  res.cork();
  for (const part of parts) res.write(part);
  res.uncork();
  res.end();
}

/** Media ranges of an Accept-like header with their q values (RFC 9110 §12.5.1). */
function qualities(header: string | undefined): Array<{ value: string; q: number }> {
  return (header ?? '').split(',').map((entry) => {
    const [value = '', ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    return { value, q: q === undefined ? 1 : Number(q.slice(2)) || 0 };
  }).filter((entry) => entry.value !== '');
}

/** OpenMetrics when the scraper prefers it (Prometheus asks for it first), else text 0.0.4. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  const ranges = qualities(accept);
  const best = (type: string) => Math.max(0, ...ranges.filter((r) => r.value === type).map((r) => r.q));
  const openmetrics = best('application/openmetrics-text');
  return openmetrics > 0 && openmetrics >= Math.max(best('text/plain'), best('*/*')) ? 'openmetrics' : 'text';
}

export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  return qualities(acceptEncoding).some((entry) => (entry.value === 'gzip' || entry.value === '*') && entry.q > 0);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function landingPage(version: string, tenantNames: string[]): string {
  const probes = tenantNames.map((name) => `<li><a href="/probe?tenant=${encodeURIComponent(name)}">/probe?tenant=${escapeHtml(name)}</a></li>`).join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Microsoft 365 health exporter</title></head>
<body>
<h1>Microsoft 365 health exporter</h1>
<p>Version ${escapeHtml(version)}</p>
<ul>
<li><a href="/metrics">/metrics</a>: all tenants</li>
${probes}
<li>/api/v1/history?tenant=NAME&amp;days=N: daily history of a tenant (JSON)</li>
<li><a href="/feeds/issues.atom">/feeds/issues.atom</a>, <a href="/feeds/messages.atom">/feeds/messages.atom</a>: Atom feeds</li>
<li><a href="/-/healthy">/-/healthy</a></li>
<li><a href="/-/ready">/-/ready</a></li>
</ul>
</body></html>
`;
}
