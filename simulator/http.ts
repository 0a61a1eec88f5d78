/** The small HTTP layer: request context, route table, JSON and OData error responses. */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimRequestLogEntry } from './types.js';
import type { TenantState } from './tenant.js';

export type RequestKind = SimRequestLogEntry['kind'];

export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  /** Decoded path without query. */
  path: string;
  query: URLSearchParams;
  /** Origin as the client addressed us (Host header), so advertised URLs work behind any name. */
  baseUrl: string;
  requestId: string;
  clientRequestId: string;
  /** Set by handlers for the request log. */
  tenantId?: string;
}

export type Handler = (ctx: RequestContext, params: string[]) => void | Promise<void>;

export interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  kind: RequestKind;
  handle: Handler;
}

/** What route modules share: tenants, clock, token key and limits. */
export interface SimulatorCore {
  now(): Date;
  tenants: Map<string, TenantState>;
  tokenKey: Buffer;
  tokenLifetimeSeconds: number;
  enforceThrottling: boolean;
}

export function findTenant(core: SimulatorCore, tenantId: string): TenantState | undefined {
  return core.tenants.get(tenantId.toLowerCase());
}

export function createContext(req: IncomingMessage, res: ServerResponse): RequestContext {
  const url = new URL(req.url ?? '/', `https://${req.headers.host ?? 'localhost'}`);
  const header = req.headers['client-request-id'];
  return {
    req,
    res,
    method: req.method ?? 'GET',
    path: safeDecode(url.pathname),
    query: url.searchParams,
    baseUrl: url.origin,
    requestId: randomUUID(),
    clientRequestId: typeof header === 'string' ? header : randomUUID(),
  };
}

export function sendJson(ctx: RequestContext, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(ctx, status, JSON.stringify(body), { 'Content-Type': 'application/json; charset=utf-8', ...headers });
}

export function send(ctx: RequestContext, status: number, body: string | Buffer, headers: Record<string, string>): void {
  ctx.res.writeHead(status, { 'request-id': ctx.requestId, 'client-request-id': ctx.clientRequestId, ...headers });
  ctx.res.end(body);
}

/** Graph's error body (ref §9); `date` is formatted as Graph does, without fraction or zone. */
export function sendODataError(
  ctx: RequestContext,
  now: Date,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  innerExtra: Record<string, string> = {},
): void {
  const innerError = { ...innerExtra, date: now.toISOString().slice(0, 19), 'request-id': ctx.requestId, 'client-request-id': ctx.clientRequestId };
  sendJson(ctx, status, { error: { code, message, innerError } }, headers);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Finds the route for a request; `undefined` route with `methodMismatch` means the path exists for another verb. */
export function matchRoute(routes: Route[], method: string, path: string): { route?: Route; params: string[]; methodMismatch: boolean } {
  let methodMismatch = false;
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (!m) continue;
    if (route.method === method) return { route, params: m.slice(1).map((p) => p ?? ''), methodMismatch: false };
    methodMismatch = true;
  }
  return { params: [], methodMismatch };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
