import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { value } from '../helpers/exposition.js';
import { tenantConfig, type ExporterProcess } from '../helpers/exporterProcess.js';
import type { OtlpReceiver } from '../helpers/otlpReceiver.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000301', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000301', clientSecret: 'contoso-otlp-secret-3' };

let stack: Stack<true>;
let receiver: OtlpReceiver;
let exporter: ExporterProcess;

const exports = async (result: 'success' | 'failure') => value(await exporter.samples(), 'm365_exporter_otlp_exports_total', { result })!;

/** Scrapes while the push is failing: every scrape answers, and fast. */
async function scrapeTimed(): Promise<number> {
  const started = performance.now();
  await exporter.scrape();
  return performance.now() - started;
}

beforeAll(async () => {
  stack = await startStack({
    simulator: { tenants: [{ ...CONTOSO, services: 'default' }] },
    otlp: true,
    config: ({ sim, otlp }) => ({
      refresh: { health: '2s', issues: '2s', messages: '1h' },
      otlp: { endpoint: otlp.endpoint, interval: '3s', timeout: '3s' },
      tenants: [tenantConfig('contoso', sim, CONTOSO)],
    }),
  });
  ({ exporter, otlp: receiver } = stack);
  await receiver.nextExport(0);
});

afterAll(() => stack?.stop());

describe('OTLP push when the receiver fails', () => {
  it('retries a 503, counts one failed export and keeps serving /metrics', async () => {
    const failuresBefore = await exports('failure');
    expect(failuresBefore).toBe(0);
    receiver.respondWith(503);
    const since = Date.now();
    await waitFor('a counted failure', async () => (await exports('failure')) > failuresBefore, 15_000, 200);
    // The OTLP exporter retried within the export: at least two 503 answers before the failure was counted.
    expect(receiver.requests.filter((r) => r.receivedAt > since && r.status === 503).length).toBeGreaterThanOrEqual(2);
    expect(await scrapeTimed()).toBeLessThan(1_000);
    expect(exporter.logs.some((line) => line.includes('"level":40') && line.includes('OTLP export failed') && line.includes('retryable'))).toBe(true);
  });

  it('counts failures while the receiver is down, then recovers when it is back', async () => {
    await receiver.stop();
    const failuresBefore = await exports('failure');
    const successesBefore = await exports('success');
    await waitFor('a failure while the receiver is down', async () => (await exports('failure')) > failuresBefore, 15_000, 200);
    expect(await scrapeTimed()).toBeLessThan(1_000);
    expect(exporter.process.exitCode).toBeNull();

    receiver = await stack.restartOtlp();
    const back = await receiver.nextExport(0, 15_000);
    expect(back.metrics!.some((m) => m.name === 'm365_service_status')).toBe(true);
    await waitFor('a counted success', async () => (await exports('success')) > successesBefore, 10_000, 200);
    await waitFor('the recovery log line', () => exporter.logs.some((line) => line.includes('OTLP export recovered')));
  });
});
