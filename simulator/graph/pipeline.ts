/**
 * What every Graph request goes through before its handler: bearer token check, per (app, tenant) rate limits,
 * scripted faults; and after it: JSON serialisation (or deliberate corruption). Route modules (v1.0 service
 * communications now, beta serviceActivity later) wrap their handlers with `graphHandler`.
 */
import type { ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { GRAPH_RESOURCE } from '../entra.js';
import { verifyHs256 } from '../jwt.js';
import { findTenant, send, sendODataError, type Handler, type RequestContext, type SimulatorCore } from '../http.js';
import type { TenantState } from '../tenant.js';
import type { GraphEndpointName } from '../types.js';
import { GraphError } from './odata.js';

const GRAPH_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

export interface GraphRequest {
  ctx: RequestContext;
  tenant: TenantState;
  params: string[];
}

/** A handler's answer: a JSON body, or raw bytes (streams such as incidentReport). */
export type GraphResult = { json: unknown; headers?: Record<string, string> } | { raw: Buffer; contentType: string };

/** Sliding-window request limits; counts admitted requests only, so Retry-After says when one will be admitted. */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(private readonly windows: ReadonlyArray<{ limit: number; windowMs: number }>) {}

  /** Records the request and returns undefined, or returns the seconds to wait. */
  admit(key: string, nowMs: number): number | undefined {
    const longest = Math.max(...this.windows.map((w) => w.windowMs));
    const hits = (this.hits.get(key) ?? []).filter((t) => t > nowMs - longest);
    this.hits.set(key, hits);
    let waitMs = 0;
    for (const { limit, windowMs } of this.windows) {
      const inWindow = hits.filter((t) => t > nowMs - windowMs);
      if (inWindow.length >= limit) waitMs = Math.max(waitMs, inWindow[inWindow.length - limit]! + windowMs - nowMs);
    }
    if (waitMs > 0) return Math.max(1, Math.ceil(waitMs / 1000));
    hits.push(nowMs);
    return undefined;
  }
}

export interface GraphRouteOptions {
  endpoint: GraphEndpointName;
  /** Shared by all routes of one throttling scope (e.g. `/admin/serviceAnnouncement/`). */
  limiter: SlidingWindowLimiter;
}

export function graphHandler(core: SimulatorCore, options: GraphRouteOptions, handle: (g: GraphRequest) => GraphResult): Handler {
  return async (ctx, params) => {
    try {
      const { tenant, appId } = authenticate(core, ctx);
      ctx.tenantId = tenant.tenantId;
      if (core.enforceThrottling) {
        const wait = options.limiter.admit(`${appId}|${tenant.tenantId}`, core.now().getTime());
        if (wait !== undefined) throw tooManyRequests(wait);
      }
      await injectFaults(tenant, options.endpoint);
      if (await hostileAnswer(ctx, tenant, options.endpoint)) return;
      const result = handle({ ctx, tenant, params });
      if ('raw' in result) return send(ctx, 200, result.raw, { 'Content-Type': result.contentType });
      let body = JSON.stringify(result.json);
      if (tenant.takeFault('malformedJson', options.endpoint)) body = body.slice(0, Math.floor(body.length / 2));
      send(ctx, 200, body, { 'Content-Type': GRAPH_JSON, ...result.headers });
    } catch (err) {
      if (!(err instanceof GraphError)) throw err;
      const inner: Record<string, string> = err.code === 'TooManyRequests' ? { code: '429', message: 'Please retry after', status: '429' } : {};
      sendODataError(ctx, core.now(), err.status, err.code, err.message, err.headers, inner);
    }
  };
}

function authenticate(core: SimulatorCore, ctx: RequestContext): { tenant: TenantState; appId: string } {
  const header = ctx.req.headers.authorization ?? '';
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) throw unauthenticated('Access token is empty.');
  const claims = verifyHs256(token, core.tokenKey);
  if (!claims) throw unauthenticated('Access token validation failure.');
  if (claims.aud !== GRAPH_RESOURCE && claims.aud !== ctx.baseUrl) throw unauthenticated('Access token validation failure. Invalid audience.');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 <= core.now().getTime()) throw unauthenticated('Lifetime validation failed, the token is expired.');
  const tenant = typeof claims.tid === 'string' ? findTenant(core, claims.tid) : undefined;
  if (!tenant || typeof claims.appid !== 'string') throw unauthenticated('Access token validation failure.');
  ctx.tenantId = tenant.tenantId;
  if (tenant.revokedTokenIds.has(String(claims.uti))) {
    throw unauthenticated('Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp');
  }
  return { tenant, appId: claims.appid };
}

async function injectFaults(tenant: TenantState, endpoint: GraphEndpointName): Promise<void> {
  const slow = tenant.takeFault('slow', endpoint);
  if (slow) await delay(slow.delayMs);
  if (tenant.takeFault('forbidden', endpoint)) throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  const throttle = tenant.takeFault('throttle', endpoint);
  if (throttle) throw tooManyRequests(throttle.retryAfter ?? String(throttle.retryAfterSeconds ?? 1));
  const serverError = tenant.takeFault('serverError', endpoint);
  if (serverError) {
    const status = serverError.status ?? 500;
    const [code, message] =
      status === 503
        ? ['serviceNotAvailable', 'The service is temporarily unavailable. You may repeat the request after a delay.']
        : status === 504
          ? ['UnknownError', 'The gateway timed out waiting for the service.']
          : ['generalException', 'An unspecified error has occurred.'];
    throw new GraphError(status, code, message);
  }
}

function unauthenticated(message: string): GraphError {
  return new GraphError(401, 'InvalidAuthenticationToken', message, {
    'WWW-Authenticate': `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`,
  });
}

function tooManyRequests(retryAfter: string | number): GraphError {
  return new GraphError(429, 'TooManyRequests', 'Please retry again later.', { 'Retry-After': String(retryAfter) });
}

/** The hostile faults (see Fault): answers that are not Graph's, written here when one applies. */
async function hostileAnswer(ctx: RequestContext, tenant: TenantState, endpoint: GraphEndpointName): Promise<boolean> {
  const redirect = tenant.takeFault('redirect', endpoint);
  if (redirect) {
    send(ctx, redirect.status, '', { Location: redirect.location });
    return true;
  }
  if (tenant.takeFault('echoRequest', endpoint)) {
    const headers = Object.entries(ctx.req.headers).map(([name, value]) => `${name}: ${String(value)}`);
    throw new GraphError(400, 'BadRequest', `Cannot parse ${ctx.method} ${ctx.req.url ?? ''}; headers: ${headers.join('; ')}\n${headers.join('\n')}`);
  }
  const oversized = tenant.takeFault('oversizedBody', endpoint);
  if (oversized) {
    const head = '{"value":[],"padding":"';
    const tail = '"}';
    const padding = Buffer.alloc(MIB, 'x');
    const pieces = function* () {
      yield Buffer.from(head);
      for (let left = oversized.bytes - head.length - tail.length; left > 0; left -= padding.length) yield left >= padding.length ? padding : padding.subarray(0, left);
      yield Buffer.from(tail);
    };
    await stream(ctx, pieces(), {});
    return true;
  }
  const bomb = tenant.takeFault('gzipBomb', endpoint);
  if (bomb) {
    spaces ??= gzipSync(Buffer.alloc(MIB, ' '), { level: 9 });
    const member = spaces;
    const pieces = function* () {
      yield gzipSync('{"value":[');
      for (let i = 0; i < Math.floor(bomb.inflatedBytes / MIB); i++) yield member;
      yield gzipSync(']}');
    };
    await stream(ctx, pieces(), { 'Content-Encoding': 'gzip' });
    return true;
  }
  return false;
}

const MIB = 1_048_576;
/** One gzip member inflating to 1 MiB of spaces (about 1 KB), made once. */
let spaces: Buffer | undefined;

/** Writes a 200 piece by piece, waiting for the client to read (so nothing piles up here), until it goes away. */
async function stream(ctx: RequestContext, pieces: Iterable<Buffer>, headers: Record<string, string>): Promise<void> {
  const { res } = ctx;
  res.writeHead(200, { 'Content-Type': GRAPH_JSON, 'request-id': ctx.requestId, 'client-request-id': ctx.clientRequestId, ...headers });
  for (const piece of pieces) {
    if (res.destroyed) return;
    if (!res.write(piece)) await drained(res);
  }
  if (!res.destroyed) res.end();
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
