import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_INFO, CONFIG_RELOAD_SUCCESS_TIMESTAMP, CONFIG_RELOAD_SUCCESSFUL, METRICS, OTLP_EXPORTS } from '../../src/model/metrics.js';
import type { Simulator } from '../../simulator/index.js';
import { imageRuntimeEnv } from '../helpers/imageEnv.js';
import { startPrometheus } from '../helpers/binaries.js';
import { familyNames, parseExposition, select, value, type ParsedSample } from '../helpers/exposition.js';
import { tenantConfig, type ExporterProcess } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { writeTemp } from '../helpers/binaries.js';
import selfsigned from 'selfsigned';
import { waitFor } from '../helpers/wait.js';

const run = promisify(execFile);

const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000001', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000001', clientSecret: 'contoso-secret-value-1' };
const FABRIKAM = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000002', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000002', clientSecret: 'fabrikam-secret-value-2' };
const EXPIRED = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000003', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000003', clientSecret: 'expired-secret-value-3' };
const CERTIFIED = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000004', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000004' };
const SECRETS = [CONTOSO.clientSecret, FABRIKAM.clientSecret, EXPIRED.clientSecret];
let certificate: { cert: string; private: string };
const SYNTHETIC_SERVICES = 120;

let stack: Stack;
let sim: Simulator;
let exporter: ExporterProcess;
/** The exporter runs as the runtime image runs it: with jemalloc preloaded (Dockerfile). */
const IMAGE_ENV = imageRuntimeEnv();

const samples = () => exporter.samples();
const contoso = (labels: Record<string, string> = {}) => ({ tenant: 'contoso', ...labels });

beforeAll(async () => {
  certificate = await selfsigned.generate([{ name: 'commonName', value: 'm365-health-exporter' }], { keySize: 2048, notAfterDate: new Date(Date.now() + 20 * 86_400_000) });
  stack = await startStack({
    simulator: {
      tenants: [
        { ...CONTOSO, services: 'default' },
        { ...FABRIKAM, services: SYNTHETIC_SERVICES },
        { ...EXPIRED, services: 'default' },
        { ...CERTIFIED, certificatePem: certificate.cert, services: 3 },
      ],
    },
    prepare(sim) {
      sim.tenant(FABRIKAM.tenantId).addIssues(120);
      sim.tenant(EXPIRED.tenantId).setFault({ kind: 'tokenFailure', code: 'AADSTS7000222' });
    },
    config: ({ sim }) => ({
      refresh: { health: '1s', issues: '1s', messages: '2s' },
      readyTimeout: '30s',
      graph: { pageSize: 50, maxRetries: 4, timeout: '5s' },
      tenants: [
        tenantConfig('contoso', sim, CONTOSO),
        tenantConfig('fabrikam', sim, FABRIKAM),
        tenantConfig('expired', sim, EXPIRED),
        tenantConfig('certified', sim, CERTIFIED, { clientCertificateFile: writeTemp('app.pem', `${certificate.cert}\n${certificate.private}`) }),
      ],
    }),
    env: IMAGE_ENV,
  });
  ({ sim, exporter } = stack);
});

afterAll(() => stack?.stop());

describe('exporter against the simulated tenant', () => {
  it('exposes every metric family of the contract', async () => {
    const text = await exporter.scrape();
    const families = familyNames(text);
    for (const def of [...Object.values(METRICS), BUILD_INFO, CONFIG_RELOAD_SUCCESSFUL, CONFIG_RELOAD_SUCCESS_TIMESTAMP, OTLP_EXPORTS]) expect(families, def.name).toContain(def.name);
    const all = parseExposition(text);
    expect(value(all, 'm365_exporter_build_info', { version: '0.1.0' })).toBe(1);
    expect(select(all, 'm365_service_operational', { tenant: 'contoso' }).length).toBe(sim.tenant(CONTOSO.tenantId).services.length);
  });

  it('runs as the runtime image runs it: jemalloc mapped into the process, one V8 helper thread, 4 MiB semi-spaces', () => {
    const preload = IMAGE_ENV.LD_PRELOAD!;
    expect(preload).toMatch(/libjemalloc\.so\.2$/);
    expect(readFileSync(`/proc/${exporter.process.pid}/maps`, 'utf8')).toContain(preload);
    expect(readFileSync(`/proc/${exporter.process.pid}/environ`, 'utf8').split('\0')).toContain('NODE_OPTIONS=--v8-pool-size=1 --max-semi-space-size=4');
  });

  it('once ready, releases the memory of the first refreshes in one collection, and logs what it held and gave back', async () => {
    const line = await waitFor('the release after the first refreshes', () => exporter.logs.find((l) => l.includes('"msg":"ready: released the memory of the first refreshes"')), 45_000);
    const { heldMs, rssMiBBefore, rssMiBAfter } = JSON.parse(line) as { heldMs: number; rssMiBBefore: number; rssMiBAfter: number };
    for (const value of [heldMs, rssMiBBefore, rssMiBAfter]) expect(Number.isInteger(value) && value >= 0).toBe(true);
    expect(rssMiBAfter).toBeLessThan(rssMiBBefore + 16);
    expect(exporter.logs.filter((l) => l.includes('released the memory of the first refreshes'))).toHaveLength(1);
  });

  it('passes promtool check metrics', async () => {
    const text = await exporter.scrape();
    const file = writeTemp('metrics.prom', text);
    const result = await run('sh', ['-c', `promtool check metrics < ${file}`]).catch((e: { stdout: string; stderr: string }) => e);
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
  });

  it('follows paging: every synthetic service and issue arrives across several pages', async () => {
    const all = await samples();
    expect(select(all, 'm365_service_info', { tenant: 'fabrikam' })).toHaveLength(SYNTHETIC_SERVICES);
    const pages = sim.requests.filter((r) => r.tenantId === FABRIKAM.tenantId && r.path.endsWith('/healthOverviews'));
    expect(pages.some((r) => r.query.$skip === '100')).toBe(true);
    expect(pages[0]?.query.$select).toBe('id,service,status');
  });

  it('reuses the token instead of requesting one per Graph call', async () => {
    await waitFor('several refreshes', () => sim.requests.filter((r) => r.tenantId === CONTOSO.tenantId && r.kind === 'graph').length > 10);
    expect(sim.tenant(CONTOSO.tenantId).tokenRequests).toBe(1);
    expect(value(await samples(), 'm365_exporter_token_requests_total', contoso({ result: 'success' }))).toBe(1);
  });

  it('follows an incident: it opens, status and counts change, it resolves, they return', async () => {
    const tenant = sim.tenant(CONTOSO.tenantId);
    const observedBefore = value(await samples(), 'm365_service_issues_observed_total', contoso({ service_id: 'Exchange', classification: 'incident' }))!;
    const id = tenant.openIssue({ serviceId: 'Exchange', classification: 'incident', status: 'serviceDegradation', title: 'Users cannot send mail', featureGroup: 'E-Mail and calendar access', feature: 'Sending mail' });

    // Health, issues and the counters refresh and render independently: wait until all of them show the incident.
    const open = await waitFor('the incident to be exported by health, issues and the counters', async () => {
      const all = await samples();
      return value(all, 'm365_service_issues_open', contoso({ service_id: 'Exchange', classification: 'incident' })) === 1
        && value(all, 'm365_service_operational', contoso({ service_id: 'Exchange' })) === 0
        && value(all, 'm365_service_issues_observed_total', contoso({ service_id: 'Exchange', classification: 'incident' })) === observedBefore + 1
        && all;
    });
    expect(value(open, 'm365_service_status', contoso({ service_id: 'Exchange', status: 'serviceDegradation' }))).toBe(1);
    expect(value(open, 'm365_service_status', contoso({ service_id: 'Exchange', status: 'serviceOperational' }))).toBe(0);
    expect(value(open, 'm365_service_operational', contoso({ service_id: 'Exchange' }))).toBe(0);
    expect(select(open, 'm365_service_issue_info', contoso({ issue_id: id }))[0]?.labels).toMatchObject({
      service_id: 'Exchange', classification: 'incident', status: 'serviceDegradation', resolved: 'false',
      feature_group: 'E-Mail and calendar access', feature: 'Sending mail', title: 'Users cannot send mail', origin: 'microsoft',
    });
    expect(value(open, 'm365_service_feature_group_status', contoso({ service_id: 'Exchange', feature_group: 'E-Mail and calendar access', status: 'serviceDegradation' }))).toBe(1);
    expect(value(open, 'm365_service_issues_observed_total', contoso({ service_id: 'Exchange', classification: 'incident' }))).toBe(observedBefore + 1);
    expect(value(open, 'm365_service_status_changes_total', contoso({ service_id: 'Exchange' }))).toBeGreaterThanOrEqual(1);

    tenant.updateIssue(id, { status: 'serviceInterruption' });
    await waitFor('the interruption', async () => value(await samples(), 'm365_service_issue_info', contoso({ issue_id: id, status: 'serviceInterruption' })) === 1);

    tenant.resolveIssue(id);
    const resolved = await waitFor('the incident to resolve in health and issues', async () => {
      const all = await samples();
      return value(all, 'm365_service_issues_open', contoso({ service_id: 'Exchange', classification: 'incident' })) === 0
        && value(all, 'm365_service_operational', contoso({ service_id: 'Exchange' })) === 1
        && all;
    });
    expect(value(resolved, 'm365_service_operational', contoso({ service_id: 'Exchange' }))).toBe(1);
    expect(select(resolved, 'm365_service_issue_info', contoso({ issue_id: id }))[0]?.labels.resolved).toBe('true');
    expect(select(resolved, 'm365_service_feature_group_status', contoso({ service_id: 'Exchange' }))).toEqual([]);

    tenant.publishPir(id);
    await waitFor('the post-incident review', async () => value(await samples(), 'm365_service_issue_info', contoso({ issue_id: id, status: 'postIncidentReviewPublished', resolved: 'true' })) === 1);
  });

  it('keeps advisories apart from incidents', async () => {
    const tenant = sim.tenant(CONTOSO.tenantId);
    const id = tenant.openIssue({ serviceId: 'SharePoint', classification: 'advisory', status: 'serviceDegradation', title: 'Some users see slow search' });
    const all = await waitFor('the advisory', async () => {
      const s = await samples();
      return value(s, 'm365_service_issues_open', contoso({ service_id: 'SharePoint', classification: 'advisory' })) === 1 && s;
    });
    expect(value(all, 'm365_service_issues_open', contoso({ service_id: 'SharePoint', classification: 'incident' }))).toBe(0);
    tenant.resolveIssue(id);
  });

  it('keeps an unknown status value under its own name', async () => {
    sim.tenant(CONTOSO.tenantId).setServiceStatus('Forms', 'partialOutage');
    const all = await waitFor('the unknown status', async () => {
      const s = await samples();
      return value(s, 'm365_service_status', contoso({ service_id: 'Forms', status: 'partialOutage' })) === 1 && s;
    });
    expect(value(all, 'm365_service_operational', contoso({ service_id: 'Forms' }))).toBe(0);
    expect(value(all, 'm365_service_status', contoso({ service_id: 'Forms', status: 'serviceOperational' }))).toBe(0);
    sim.tenant(CONTOSO.tenantId).setServiceStatus('Forms', 'serviceOperational');
  });

  it('backs off through a 429 storm, counts it and recovers', async () => {
    const throttledBefore = value(await samples(), 'm365_exporter_graph_throttled_total', contoso())!;
    sim.tenant(CONTOSO.tenantId).setFault({ kind: 'throttle', count: 6, retryAfterSeconds: 0.3 });
    const after = await waitFor('throttling to be counted', async () => {
      const s = await samples();
      return value(s, 'm365_exporter_graph_throttled_total', contoso())! >= throttledBefore + 6 && s;
    });
    const counted429 = select(after, 'm365_exporter_graph_requests_total', contoso({ code: '429' })).reduce((sum, s) => sum + s.value, 0);
    expect(counted429).toBeGreaterThanOrEqual(6);
    await waitFor('collectors to succeed again', async () => {
      const s = await samples();
      return select(s, 'm365_exporter_collector_success', contoso()).every((x) => x.value === 1);
    });
    const throttleRequests = sim.requests.filter((r) => r.tenantId === CONTOSO.tenantId && r.status === 429);
    expect(throttleRequests.length).toBe(6);
  });

  it('signs in with a certificate and exports its expiry', async () => {
    const all = await samples();
    expect(select(all, 'm365_service_info', { tenant: 'certified' })).toHaveLength(3);
    const notAfter = value(all, 'm365_exporter_credential_expiry_timestamp_seconds', { tenant: 'certified', kind: 'certificate' })!;
    expect(Math.abs(notAfter - (Date.now() / 1_000 + 20 * 86_400))).toBeLessThan(3_600);
    expect(value(all, 'm365_exporter_token_expiry_timestamp_seconds', { tenant: 'certified' })).toBeGreaterThan(Date.now() / 1_000);
    expect(exporter.logs.join('\n')).not.toContain('PRIVATE KEY');
  });

  it('reports a token failure for that tenant only, with its AADSTS code', async () => {
    const all = await samples();
    for (const collector of ['health', 'issues', 'messages']) {
      expect(value(all, 'm365_exporter_collector_success', { tenant: 'expired', collector })).toBe(0);
      expect(value(all, 'm365_exporter_collector_errors_total', { tenant: 'expired', collector, reason: 'auth' })).toBeGreaterThanOrEqual(1);
      expect(value(all, 'm365_exporter_collector_success', { tenant: 'contoso', collector })).toBe(1);
      expect(value(all, 'm365_exporter_collector_success', { tenant: 'fabrikam', collector })).toBe(1);
    }
    expect(value(all, 'm365_exporter_token_error_info', { tenant: 'expired', error_code: 'AADSTS7000222' })).toBe(1);
    expect(value(all, 'm365_exporter_token_requests_total', { tenant: 'expired', result: 'failure' })).toBeGreaterThanOrEqual(1);
    expect(select(all, 'm365_service_info', { tenant: 'expired' })).toEqual([]);
    expect(exporter.logs.some((line) => line.includes('AADSTS7000222') && line.includes('"tenant":"expired"'))).toBe(true);
  });

  it('keeps the last good data through malformed JSON and counts the error', async () => {
    const before = await samples();
    const issueSeries = select(before, 'm365_service_issue_info', contoso()).length;
    const errorsBefore = value(before, 'm365_exporter_collector_errors_total', contoso({ collector: 'issues', reason: 'invalid_response' })) ?? 0;
    sim.tenant(CONTOSO.tenantId).setFault({ kind: 'malformedJson', endpoint: 'issues' });
    const during = await waitFor('the failure to show in the outcome and the error counter', async () => {
      const s = await samples();
      return value(s, 'm365_exporter_collector_success', contoso({ collector: 'issues' })) === 0
        && (value(s, 'm365_exporter_collector_errors_total', contoso({ collector: 'issues', reason: 'invalid_response' })) ?? 0) > errorsBefore
        && s;
    });
    expect(value(during, 'm365_exporter_collector_errors_total', contoso({ collector: 'issues', reason: 'invalid_response' }))).toBeGreaterThan(errorsBefore);
    expect(select(during, 'm365_service_issue_info', contoso())).toHaveLength(issueSeries);
    expect(value(during, 'm365_exporter_collector_success', contoso({ collector: 'health' }))).toBe(1);
    expect(exporter.logs.some((l) => l.includes('response is not valid JSON') && l.includes('keeping the last good data'))).toBe(true);
    sim.tenant(CONTOSO.tenantId).clearFaults();
    await waitFor('recovery', async () => value(await samples(), 'm365_exporter_collector_success', contoso({ collector: 'issues' })) === 1);
  });

  it('serves one tenant on /probe and refuses unknown names without calling out', async () => {
    const probe = await exporter.samples('/probe?tenant=fabrikam');
    expect(new Set(probe.map((s) => s.labels.tenant).filter(Boolean))).toEqual(new Set(['fabrikam']));
    expect(select(probe, 'm365_service_info')).toHaveLength(SYNTHETIC_SERVICES);
    const requestsBefore = sim.requests.length;
    const unknown = await fetch(`${exporter.url}/probe?tenant=nope`);
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toBe('unknown tenant "nope": not in the configuration\n');
    expect((await fetch(`${exporter.url}/probe`)).status).toBe(400);
    expect(sim.requests.slice(requestsBefore).every((r) => r.tenantId !== undefined)).toBe(true);
  });

  it('serves the landing page and health endpoints', async () => {
    const landing = await (await fetch(exporter.url)).text();
    expect(landing).toContain('href="/metrics"');
    expect(landing).toContain('href="/probe?tenant=contoso"');
    expect(await (await fetch(`${exporter.url}/-/healthy`)).text()).toBe('Healthy\n');
    expect((await fetch(`${exporter.url}/-/ready`)).status).toBe(200);
  });

  it('never shows a secret in logs or metrics', async () => {
    const text = await exporter.scrape();
    for (const secret of SECRETS) {
      expect(text).not.toContain(secret);
      expect(exporter.logs.join('\n')).not.toContain(secret);
    }
  });

  it('is scraped by a real Prometheus, which sees m365_service_operational for every simulated service', async () => {
    const prometheus = await startPrometheus({ scrape: [{ job: 'm365', target: new URL(exporter.url).host }] });
    try {
      const expected = sim.tenant(CONTOSO.tenantId).services.length + SYNTHETIC_SERVICES + 3;
      const result = await waitFor('Prometheus to scrape', async () => {
        const vector = await prometheus.query('m365_service_operational');
        return vector.length === expected && vector;
      }, 30_000, 250);
      const ids = new Set(result.filter((r) => r.metric.tenant === 'contoso').map((r) => r.metric.service_id));
      expect(ids).toEqual(new Set(sim.tenant(CONTOSO.tenantId).services.map((s) => s.id)));
      expect((await prometheus.query('up{job="m365"}'))[0]?.value[1]).toBe('1');
    } finally {
      await prometheus.stop();
    }
  });
});

describe('shutdown', () => {
  it('exits 0 on SIGTERM', async () => {
    expect(await exporter.stop()).toBe(0);
  });
});

export type { ParsedSample };
