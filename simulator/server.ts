/**
 * Starts the HTTPS server that plays both Entra ID (authority) and Microsoft Graph for the simulated tenants, and the
 * plain HTTP managed identity endpoint of the host they run on.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { MANAGED_IDENTITY_PATH, entraRoutes, managedIdentityRoutes } from './entra.js';
import { serviceActivityRoutes, DEFAULT_SETTLE_SECONDS } from './graph/serviceActivity.js';
import { serviceAnnouncementRoutes } from './graph/serviceAnnouncement.js';
import { createContext, matchRoute, sendJson, sendODataError, type RequestContext, type RequestKind, type Route, type SimulatorCore } from './http.js';
import { realisticFleet } from './realistic.js';
import { TenantState } from './tenant.js';
import { createTlsIdentity } from './tls.js';
import type { SimRequestLogEntry, Simulator, SimulatorOptions, SimTenant } from './types.js';

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const now = options.now ?? (() => new Date());
  const realistic = realisticFleet(options.realisticContent ?? 'shared', now().getTime());
  const core: SimulatorCore = {
    now,
    tenants: new Map(options.tenants.map((spec) => [spec.tenantId.toLowerCase(), new TenantState(spec, now, realistic)])),
    // Per-simulator key: tokens from one run (or from real Entra) are never valid on another.
    tokenKey: randomBytes(32),
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 3600,
    enforceThrottling: options.enforceThrottling ?? true,
  };
  const routes: Route[] = [
    ...entraRoutes(core),
    ...serviceAnnouncementRoutes(core),
    ...serviceActivityRoutes(core, { settleMs: (options.serviceActivitySettleSeconds ?? DEFAULT_SETTLE_SECONDS) * 1000 }),
  ];
  const requests: SimRequestLogEntry[] = [];
  const tls = await createTlsIdentity(options.tlsDnsNames);
  const serve = (table: Route[]) => (req: IncomingMessage, res: ServerResponse) => {
    const ctx = createContext(req, res);
    const { route, params, methodMismatch } = matchRoute(table, ctx.method, ctx.path);
    // Logged on finish so the entry carries the final status (and the tenant the handler resolved).
    res.on('finish', () => requests.push(logEntry(ctx, route?.kind ?? kindOf(ctx.path), now(), res.statusCode)));
    if (!route) return unmatched(ctx, now(), methodMismatch);
    Promise.resolve(route.handle(ctx, params)).catch((err: unknown) => {
      if (!res.headersSent) sendODataError(ctx, now(), 500, 'generalException', `Simulator error: ${String(err)}`);
      else res.destroy();
    });
  };

  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, serve(routes));
  // What App Service puts in IDENTITY_HEADER: a per-start secret its managed identity endpoint requires. The endpoint
  // listens on plain HTTP, on the host's loopback, as App Service's (http://127.0.0.1:41741/MSI/token/) does.
  const identityHeader = randomBytes(16).toString('hex');
  let url = '';
  const identityServer = createHttpServer(serve(managedIdentityRoutes(core, { header: identityHeader, graphOrigin: () => url })));
  // Clients (msal, the exporter) keep connections alive; do not let idle sockets hold the servers open.
  server.keepAliveTimeout = 5_000;
  identityServer.keepAliveTimeout = 5_000;

  const listen = (target: typeof server | typeof identityServer, port: number) => new Promise<number>((resolve, reject) => {
    target.once('error', reject);
    target.listen(port, options.host ?? '127.0.0.1', () => resolve((target.address() as AddressInfo).port));
  });
  const port = await listen(server, options.port ?? 0);
  const identityPort = await listen(identityServer, 0);
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  const shownHost = host.includes(':') ? `[${host}]` : host;
  url = `https://${shownHost}:${port}`;

  return {
    url,
    caCertPem: tls.certPem,
    managedIdentity: { endpoint: `http://${shownHost}:${identityPort}${MANAGED_IDENTITY_PATH}`, header: identityHeader },
    requests,
    tenant(tenantId: string): SimTenant {
      const tenant = core.tenants.get(tenantId.toLowerCase());
      if (!tenant) throw new Error(`unknown simulated tenant '${tenantId}'`);
      return tenant;
    },
    stop: () =>
      Promise.all([server, identityServer].map((target) => new Promise<void>((resolve, reject) => {
        target.close((err) => (err ? reject(err) : resolve()));
        target.closeAllConnections();
      }))).then(() => undefined),
  };
}

function unmatched(ctx: RequestContext, now: Date, methodMismatch: boolean): void {
  if (kindOf(ctx.path) !== 'graph') return sendJson(ctx, methodMismatch ? 405 : 404, { error: 'not_found', error_description: `No such endpoint: ${ctx.path}` });
  if (methodMismatch) return sendODataError(ctx, now, 405, 'Request_BadRequest', 'The HTTP method is not allowed for this resource.');
  // Graph's OData routing answers a segment it does not know with 400 BadRequest, not 404.
  sendODataError(ctx, now, 400, 'BadRequest', `Resource not found for the segment '${ctx.path.split('/').filter(Boolean).at(-1) ?? ''}'.`);
}

function kindOf(path: string): RequestKind {
  if (/^\/(v1\.0|beta)\//.test(path)) return 'graph';
  return /\/oauth2\//.test(path) ? 'token' : 'discovery';
}

function logEntry(ctx: RequestContext, kind: RequestKind, time: Date, status: number): SimRequestLogEntry {
  return {
    time,
    ...(ctx.tenantId !== undefined && { tenantId: ctx.tenantId }),
    method: ctx.method,
    path: ctx.path,
    query: Object.fromEntries(ctx.query),
    status,
    kind,
  };
}
