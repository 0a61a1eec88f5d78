/** The committed dashboards are exactly what the generator produces, and follow the house rules. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderDashboards } from '../../dashboards/src/index.js';
import { DASHBOARD_DIR, dashboardFiles, panelQueries, readDashboard } from '../helpers/dashboards.js';

describe('dashboards', () => {
  it('committed JSON is up to date (run `npm run dashboards`)', async () => {
    const rendered = await renderDashboards();
    expect([...rendered.keys()].sort()).toEqual(dashboardFiles());
    for (const [file, json] of rendered) expect(readFileSync(`${DASHBOARD_DIR}${file}`, 'utf8'), `dashboards/${file} is stale: run npm run dashboards`).toBe(json);
  });

  it.each(dashboardFiles())('%s has a datasource and a multi-select tenant variable and no hard-coded datasource uid', (file) => {
    const dashboard = readDashboard(file);
    const variables = dashboard.templating.list;
    expect(variables.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(variables.find((v) => v.name === 'tenant')).toMatchObject({ type: 'query', multi: true, includeAll: true });
    const uids = [...JSON.stringify(dashboard).matchAll(/"datasource":\{"type":"prometheus","uid":"([^"]*)"\}/g)].map((m) => m[1]);
    expect(uids.length).toBeGreaterThan(0);
    expect(new Set(uids)).toEqual(new Set(['${datasource}']));
  });

  it.each(dashboardFiles())('%s filters every M365 query by the tenant variable and never reads m365_service_status as a number', (file) => {
    for (const query of panelQueries(file)) {
      if (/m365[_:]/.test(query.expr) && !query.expr.includes('tenant=~".*"')) throw new Error(`${file} / ${query.panel}: no tenant filter in ${query.expr}`);
      // The state set is only ever compared with == 1 (its current member), never ranked or summed.
      for (const use of query.expr.matchAll(/m365_service_status\{[^}]*\}( == 1)?/g)) expect(use[1], `${file} / ${query.panel}`).toBe(' == 1');
    }
  });
});
