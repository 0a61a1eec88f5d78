import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantConfig, type ExporterProcess } from '../helpers/exporterProcess.js';
import { compareWithMetrics } from '../helpers/otlpCompare.js';
import type { OtlpReceiver } from '../helpers/otlpReceiver.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const TENANTS = Array.from({ length: 60 }, (_, i) => {
  const n = String(i + 1).padStart(3, '0');
  return { name: `msp-${n}`, tenantId: `0d2d1a6e-1111-4c1e-9a7e-000000002${n}`, clientId: `5a1c0c8e-2222-4b8e-8f3e-000000002${n}`, clientSecret: `msp-secret-${n}` };
});
const kib = (bytes: number) => (bytes / 1024).toFixed(0);
/** The SDK's default cardinality limit per instrument, which a MetricProducer does not apply. */
const SDK_DEFAULT_CARDINALITY_LIMIT = 2_000;

let stack: Stack<true>;
let receiver: OtlpReceiver;
let exporter: ExporterProcess;

beforeAll(async () => {
  stack = await startStack({
    simulator: { tenants: TENANTS.map(({ tenantId, clientId, clientSecret }) => ({ tenantId, clientId, clientSecret, services: 'default' as const })) },
    otlp: true,
    config: ({ sim, otlp }) => ({
      logLevel: 'debug',
      refresh: { health: '1h', issues: '1h', messages: '1h' },
      readyTimeout: '60s',
      otlp: { endpoint: otlp.endpoint, protocol: 'http/protobuf', compression: 'gzip', interval: '2s', timeout: '2s' },
      tenants: TENANTS.map((t) => tenantConfig(t.name, sim, t)),
    }),
    readyTimeoutMs: 60_000,
  });
  ({ exporter, otlp: receiver } = stack);
}, 90_000);

afterAll(() => stack?.stop());

/**
 * Whether every tenant whose series differ refreshed in between: its last success differs too, or only its
 * availability does, which the history store answers after the refresh that changed it (src/history/history.ts), so a
 * scrape can see the refresh and the export the availability that followed (CI once saw exactly that).
 */
function refreshedBetween(differences: string[]): boolean {
  const tenants = new Set(differences.map((line) => /tenant="([^"]+)"/.exec(line)?.[1]));
  return [...tenants].every((tenant) => {
    const own = differences.filter((line) => line.includes(`tenant="${tenant}"`));
    return tenant !== undefined && (own.some((line) => line.startsWith('m365_exporter_collector_last_success_timestamp_seconds{'))
      || own.every((line) => line.startsWith('m365_service_availability_ratio{')));
  });
}

describe('OTLP push at MSP size (60 tenants)', () => {
  it('exports every series /metrics shows, far past the SDK default cardinality limit, with no overflow series', async () => {
    // A tenant's second refresh comes at its phase of the hour (src/runtime/scheduler.ts: phaseOf), which may fall
    // between a scrape and the export after it; then only that tenant's series differ, its last success among them,
    // and the pair is taken again (no tenant refreshes a third time within the hour). Any other difference fails.
    let comparison!: ReturnType<typeof compareWithMetrics>;
    let received!: Awaited<ReturnType<typeof receiver.nextExport>>;
    let text = '';
    for (let attempt = 1; attempt <= 3; attempt++) {
      const scrapedAt = Date.now();
      text = await exporter.scrape();
      // An export arriving just after the scrape may have been gathered before it (an export of 60 tenants takes up to
      // `timeout`, 2 s, on a busy machine), when not every tenant had refreshed yet; one arriving a timeout later was not.
      received = await receiver.nextExport(scrapedAt + 2_000, 30_000);
      comparison = compareWithMetrics(text, received.metrics!);
      if (comparison.differences.length === 0 || !refreshedBetween(comparison.differences)) break;
    }
    expect(comparison.differences).toEqual([]);

    const status = comparison.seriesCounts.get('m365_service_status')!;
    expect(status.otlp).toBe(status.metrics);
    expect(status.otlp).toBeGreaterThan(10 * SDK_DEFAULT_CARDINALITY_LIMIT);
    expect(new Set(received.metrics!.find((m) => m.name === 'm365_service_status')!.points.map((p) => p.attributes.tenant)).size).toBe(TENANTS.length);
    const points = received.metrics!.flatMap((m) => m.points);
    expect(points.filter((p) => 'otel.metric.overflow' in p.attributes)).toEqual([]);

    // The exporter logs each success (its size and duration, retries included) once the receiver has answered.
    const last = await waitFor('the export to be logged', () => exporter.logs
      .filter((line) => line.includes('"OTLP export succeeded'))
      .map((line) => JSON.parse(line) as { dataPoints: number; durationMs: number })
      .find((entry) => entry.dataPoints === points.length));
    console.info(`MSP size: ${TENANTS.length} tenants, ${points.length} data points (m365_service_status: ${status.otlp} series), ` +
      `${comparison.comparedSamples} samples compared, protobuf ${kib(received.decodedBytes)} KiB, gzip on the wire ${kib(received.bytes)} KiB, export ${last.durationMs} ms`);
    expect(received.headers['content-encoding']).toBe('gzip');
    expect(received.bytes).toBeLessThan(received.decodedBytes / 5);
  });
});
