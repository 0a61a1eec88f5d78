/**
 * What every Graph request goes through before its handler: bearer token check, per (app, tenant) rate limits,
 * scripted faults; and after it: JSON serialisation (or deliberate corruption). Route modules (v1.0 service
 * communications now, beta serviceActivity later) wrap their handlers with `graphHandler`.
 */
import { setTimeout as delay } from 'node:timers/promises';
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
  return { tenant, appId: claims.appid };
}

async function injectFaults(tenant: TenantState, endpoint: GraphEndpointName): Promise<void> {
  const slow = tenant.takeFault('slow', endpoint);
  if (slow) await delay(slow.delayMs);
  if (tenant.takeFault('forbidden', endpoint)) throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  const throttle = tenant.takeFault('throttle', endpoint);
  if (throttle) throw tooManyRequests(throttle.retryAfterSeconds ?? 1);
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

function tooManyRequests(retryAfterSeconds: number): GraphError {
  return new GraphError(429, 'TooManyRequests', 'Please retry again later.', { 'Retry-After': String(retryAfterSeconds) });
}
