/** Reads the committed dashboard JSON: every panel query, with Grafana's template variables made concrete. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const DASHBOARD_DIR = fileURLToPath(new URL('../../dashboards/', import.meta.url));

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

interface Panel {
  title?: string;
  panels?: Panel[];
  targets?: Array<{ expr?: string; refId?: string }>;
}

export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARD_DIR).filter((f) => f.endsWith('.json')).sort();
}

export function readDashboard(file: string): { title: string; uid: string; panels: Panel[]; templating: { list: Array<Record<string, unknown>> } } {
  return JSON.parse(readFileSync(`${DASHBOARD_DIR}${file}`, 'utf8'));
}

/** What Grafana would send for "All" tenants and workloads and a default time range. */
export function substituteVariables(expr: string): string {
  return expr
    .replace(/\$\{?tenant\}?/g, '.*')
    .replace(/\$\{?workload\}?/g, '.*')
    .replace(/\$\{?__rate_interval\}?/g, '1m')
    .replace(/\$\{?__interval\}?/g, '15s')
    .replace(/\$\{?__range\}?/g, '5m');
}

export function panelQueries(file: string): PanelQuery[] {
  const dashboard = readDashboard(file);
  const walk = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...walk(p.panels ?? [])]);
  return walk(dashboard.panels).flatMap((panel) =>
    (panel.targets ?? []).filter((t) => t.expr).map((t) => ({ dashboard: file, panel: panel.title ?? '', refId: t.refId ?? 'A', expr: substituteVariables(t.expr!) })),
  );
}

/**
 * Runs every panel query of every dashboard against `query` (a real Prometheus) and returns what failed: a query that
 * errors, or one without data unless `emptyAllowed` (keyed `<dashboard file>/<panel title>/<refId>`) says why.
 */
export async function panelsWithoutData(
  query: (expr: string) => Promise<unknown[]>,
  emptyAllowed: Record<string, string>,
): Promise<{ queries: number; failures: string[] }> {
  const queries = dashboardFiles().flatMap(panelQueries);
  const failures: string[] = [];
  for (const q of queries) {
    const key = `${q.dashboard}/${q.panel}/${q.refId}`;
    try {
      const result = await query(q.expr);
      if (result.length === 0 && !(key in emptyAllowed)) failures.push(`${key}: no data for ${q.expr}`);
    } catch (error) {
      failures.push(`${key}: ${(error as Error).message}`);
    }
  }
  return { queries: queries.length, failures };
}
