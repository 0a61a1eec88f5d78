/**
 * Read-only views of the collectors' data besides the metrics: the retired Service Communications API's paths
 * (src/legacy/) and the Atom feeds (src/feeds/). Both answer from what the tenants hold; neither calls Graph.
 */
import { Router, type Request, type Response } from 'express';
import { renderFeed, type FeedKind } from '../feeds/atom.js';
import type { DailyHistory } from '../history/daily.js';
import { answerLegacy, findTenant } from '../legacy/api.js';
import { HISTORICAL_DAYS, HISTORICAL_STATUS } from '../legacy/entities.js';
import type { Tenant } from '../runtime/tenant.js';

const LEGACY_PATH = '/api/v1.0/:tenant/ServiceComms/:operation';
const FEEDS: Record<string, FeedKind> = { '/feeds/issues.atom': 'issues', '/feeds/messages.atom': 'messages' };

export function viewRoutes(tenants: () => readonly Tenant[], history?: { daily(tenant: string, days: number): Promise<DailyHistory | undefined> }): Router {
  const router = Router();
  const origin = (req: Request) => `${req.protocol}://${req.get('host') ?? 'localhost'}`;

  router.get(LEGACY_PATH, async (req: Request<{ tenant: string; operation: string }>, res: Response) => {
    const query = new URL(req.originalUrl, 'http://x').searchParams;
    // The daily history comes from the history store's thread, so it is read before answering: for HistoricalStatus
    // of the tenant asked for only, the one answerLegacy finds too.
    let daily: DailyHistory | undefined;
    const known = tenants().map((tenant) => ({
      name: tenant.name, tenantId: tenant.config.tenantId, get data() { return tenant.data; },
      history: history && (() => daily),
    }));
    const target = findTenant(known, req.params.tenant);
    if (history && target && req.params.operation.toLowerCase() === HISTORICAL_STATUS.name.toLowerCase()) {
      try {
        daily = await history.daily(target.name, HISTORICAL_DAYS);
      } catch (error) {
        res.status(503).json({ error: { code: 'ServiceUnavailable', message: `the history store cannot answer: ${(error as Error).message}` } });
        return;
      }
    }
    const root = `${origin(req)}/api/v1.0/${encodeURIComponent(req.params.tenant)}`;
    const answer = answerLegacy(known, req.params.tenant, req.params.operation, query, new Date(), root);
    res.status(answer.status);
    res.setHeader('OData-Version', '4.0');
    res.type('application/json; odata.metadata=minimal; charset=utf-8').send(JSON.stringify(answer.body));
  });

  for (const [path, kind] of Object.entries(FEEDS)) {
    router.get(path, (req, res) => {
      const name = req.query.tenant;
      let selected = tenants();
      if (name !== undefined) {
        const found = typeof name === 'string' ? selected.find((tenant) => tenant.name === name) : undefined;
        if (!found) {
          res.status(400).type('text').send(`unknown tenant ${JSON.stringify(String(name).slice(0, 100))}: not in the configuration\n`);
          return;
        }
        selected = [found];
      }
      const self = `${origin(req)}${path}${typeof name === 'string' ? `?tenant=${encodeURIComponent(name)}` : ''}`;
      const xml = renderFeed(kind, selected.map((tenant) => ({ name: tenant.name, data: tenant.data })), self, new Date());
      res.type('application/atom+xml; charset=utf-8').send(xml);
    });
  }

  for (const path of [LEGACY_PATH, ...Object.keys(FEEDS)]) {
    router.all(path, (req, res) => {
      res.setHeader('Allow', 'GET, HEAD');
      res.status(405).type('text').send(`method ${req.method} not allowed; ${req.path} answers GET, HEAD\n`);
    });
  }
  return router;
}
