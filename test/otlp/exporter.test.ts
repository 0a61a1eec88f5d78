import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantConfig, type ExporterProcess } from '../helpers/exporterProcess.js';
import { compareWithMetrics } from '../helpers/otlpCompare.js';
import type { OtlpReceiver } from '../helpers/otlpReceiver.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000101', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000101', clientSecret: 'contoso-otlp-secret-1' };
const FABRIKAM = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000102', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000102', clientSecret: 'fabrikam-otlp-secret-2' };
const ORG_ID = 'otlp-org-secret-header-value';

describe.each(['http/protobuf', 'http/json'] as const)('OTLP push over %s', (protocol) => {
  let stack: Stack<true>;
  let receiver: OtlpReceiver;
  let exporter: ExporterProcess;

  beforeAll(async () => {
    stack = await startStack({
      simulator: { tenants: [{ ...CONTOSO, services: 'default' }, { ...FABRIKAM, services: 'default' }] },
      prepare: (sim) => sim.tenant(FABRIKAM.tenantId).addIssues(15),
      otlp: true,
      config: ({ sim, otlp }) => ({
        // Long refresh intervals: after the first refresh the cache stays still, so /metrics and the export must agree.
        refresh: { health: '1h', issues: '1h', messages: '1h' },
        readyTimeout: '30s',
        otlp: { endpoint: otlp.endpoint, protocol, interval: '1s', timeout: '1s', headers: { 'X-Scope-OrgID': ORG_ID } },
        tenants: [tenantConfig('contoso', sim, CONTOSO), tenantConfig('fabrikam', sim, FABRIKAM)],
      }),
    });
    ({ exporter, otlp: receiver } = stack);
  });

  afterAll(() => stack?.stop());

  it('exports the same metric names, attributes and values that /metrics shows', async () => {
    // The history store answers after readiness (its thread computes the availability windows from the first
    // refresh, and writes the file a moment later): compared before, the export that follows the scrape carries
    // them and /metrics does not (seen once under CI load).
    const text = await waitFor('the history store to answer for both tenants and write its file', async () => {
      const scraped = await exporter.scrape();
      const tenants = new Set([...scraped.matchAll(/^m365_service_availability_ratio\{[^}]*tenant="([^"]+)"/gm)].map((m) => m[1]));
      const size = Number(/^m365_exporter_storage_size_bytes (\S+)$/m.exec(scraped)?.[1] ?? 0);
      return tenants.size === 2 && size > 0 && scraped;
    });
    const scrapedAt = Date.now();
    const received = await receiver.nextExport(scrapedAt);
    expect(received.contentType).toBe(protocol === 'http/json' ? 'application/json' : 'application/x-protobuf');
    const comparison = compareWithMetrics(text, received.metrics!);
    expect(comparison.differences).toEqual([]);
    expect(comparison.families.size).toBeGreaterThan(30);
    expect(comparison.comparedSamples).toBeGreaterThan(1_000);
    expect(comparison.seriesCounts.get('m365_service_status')!.otlp).toBeGreaterThan(2 * 26 * 10);
    expect(comparison.seriesCounts.get('m365_exporter_graph_request_duration_seconds')!.otlp).toBeGreaterThan(0);
  });

  it('carries the resource attributes, the tenant as a point attribute and the configured headers', async () => {
    const received = await receiver.nextExport(0);
    expect(received.resource).toEqual({
      'service.name': 'm365-health-exporter', 'service.version': '0.1.0', 'service.instance.id': expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    expect(received.headers['x-scope-orgid']).toBe(ORG_ID);
    const status = received.metrics!.find((m) => m.name === 'm365_service_status')!;
    expect(new Set(status.points.map((p) => p.attributes.tenant))).toEqual(new Set(['contoso', 'fabrikam']));
    const ids = new Set(receiver.requests.filter((r) => r.resource).map((r) => r.resource!['service.instance.id']));
    expect(ids.size).toBe(1);
    expect(exporter.logs.join('\n')).not.toContain(ORG_ID);
  });

  it('counts successful exports on /metrics', async () => {
    const samples = await exporter.samples();
    const success = samples.find((s) => s.name === 'm365_exporter_otlp_exports_total' && s.labels.result === 'success');
    expect(success!.value).toBeGreaterThanOrEqual(1);
  });
});
