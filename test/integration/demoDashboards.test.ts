/**
 * The demo as a user sees it in Grafana: a real Prometheus scrapes the demo's exporter (incident-lifecycle, with the
 * Monitoring API and the history store on) and evaluates the shipped rules, and every panel query of every dashboard
 * returns data. The panels allowed to be empty say why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesWithoutFor, startPrometheus, type PromVector, type RunningBinary } from '../helpers/binaries.js';
import { panelsWithoutData } from '../helpers/dashboards.js';
import { startDemo, type DemoProcess } from '../helpers/demoProcess.js';
import { waitFor } from '../helpers/wait.js';

/** Keyed by `<dashboard file>/<panel title>/<refId>`. */
const EMPTY_ALLOWED: Record<string, string> = {
  'm365-exporter.json/Token errors/A': 'm365_exporter_token_error_info exists only while token requests fail; incident-lifecycle has no token failure',
  'm365-service-activity.json/Count functions against the same time last week/ratio': 'compares with offset 1w: a Prometheus started by the test has no week of history',
  'm365-service-activity.json/Count functions against the same time last week/lastweek': 'the same: avg_over_time(...[30m] offset 1w) needs a week of history',
  'm365-exporter.json/Graph errors by endpoint/A': 'incident-lifecycle has no failing Graph request (throttling-storm and graph-outage have them)',
  'm365-service-activity.json/Disabled functions/A': 'every function the demo selects (all) is read: no function is disabled',
};

let demo: DemoProcess;
let prometheus: RunningBinary & { query(expr: string): Promise<PromVector> };

beforeAll(async () => {
  demo = await startDemo('incident-lifecycle', 2_000);
  prometheus = await startPrometheus({
    scrape: [{ job: 'm365-health-exporter', target: new URL(demo.exporterUrl).host }],
    ruleFiles: [rulesWithoutFor()],
  });
  await waitFor('Prometheus to have the demo\'s services, telemetry and a rate window', async () =>
    (await prometheus.query('count(count_over_time(m365_service_info{tenant="contoso"}[1m]) >= 5)')).length > 0
    && (await prometheus.query('m365_service_activity_bucket_events{tenant="fabrikam"}')).length > 0
    && (await prometheus.query('m365_service_issues_open{classification="incident"} > 0')).length > 0, 50_000, 500);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await demo?.stop();
});

describe('every dashboard against a real Prometheus scraping the demo', () => {
  it('serves the history, the retired API\'s shapes and the feeds its page links to', async () => {
    const page = await (await fetch(demo.pageUrl)).text();
    for (const path of ['/api/v1/history?tenant=contoso&amp;days=7', '/api/v1.0/contoso/ServiceComms/CurrentStatus', '/api/v1.0/contoso/ServiceComms/Messages', '/feeds/issues.atom', '/feeds/messages.atom']) {
      expect(page).toContain(`${demo.exporterUrl}${path}`);
      const response = await fetch(`${demo.exporterUrl}${path.replace('&amp;', '&')}`);
      expect(response.status, path).toBe(200);
      expect((await response.text()).length, path).toBeGreaterThan(100);
    }
  });

  it('runs every panel query with data', async () => {
    const { queries, failures } = await panelsWithoutData((expr) => prometheus.query(expr), EMPTY_ALLOWED);
    expect(queries).toBeGreaterThan(40);
    expect(failures).toEqual([]);
  }, 30_000);
});
