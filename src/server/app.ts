import express, { type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import { expositionOf, joinExpositions } from '../metrics/registry.js';
import type { Tenant } from '../tenant.js';

export interface AppOptions {
  globalRegistry: Registry;
  tenants: Tenant[];
  /** True once every tenant finished its first refresh, or the ready timeout passed. */
  isReady(): boolean;
  version: string;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function createApp({ globalRegistry, tenants, isReady, version }: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  const byName = new Map(tenants.map((tenant) => [tenant.name, tenant]));

  app.get('/', (_req, res) => {
    res.type('html').send(landingPage(version, tenants.map((t) => t.name)));
  });

  app.get('/metrics', async (_req, res) => {
    const parts = await Promise.all([expositionOf(globalRegistry), ...tenants.map((tenant) => tenant.exposition())]);
    res.type(CONTENT_TYPE).send(joinExpositions(parts.flat()));
  });

  // Multi-target pattern: one configured tenant's metrics. Only configured names are accepted, so a request can
  // never make the exporter call out anywhere.
  app.get('/probe', async (req, res) => {
    const name = req.query.tenant;
    if (typeof name !== 'string' || name === '') {
      res.status(400).type('text').send('missing parameter "tenant": use /probe?tenant=NAME with a tenant name from the config\n');
      return;
    }
    const tenant = byName.get(name);
    if (!tenant) {
      res.status(400).type('text').send(`unknown tenant ${JSON.stringify(name.slice(0, 100))}: configured tenants are ${[...byName.keys()].join(', ')}\n`);
      return;
    }
    res.type(CONTENT_TYPE).send(joinExpositions(await tenant.exposition()));
  });

  app.get('/-/healthy', (_req, res) => {
    res.type('text').send('Healthy\n');
  });

  app.get('/-/ready', (_req, res) => {
    if (isReady()) res.type('text').send('Ready\n');
    else res.status(503).type('text').send('Not ready: waiting for the first refresh of every tenant\n');
  });

  app.use((_req, res) => {
    res.status(404).type('text').send('Not found. See / for the endpoints.\n');
  });

  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).type('text').send(`internal error: ${error.message}\n`);
  });
  return app;
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
<li><a href="/-/healthy">/-/healthy</a></li>
<li><a href="/-/ready">/-/ready</a></li>
</ul>
</body></html>
`;
}
