import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile, redactedConfig } from '../../src/config/load.js';
import { OTLP_EXPORTS } from '../../src/model/metrics.js';
import { startOtlpPush, toMetricData, type OtlpOptions, type PromFamily } from '../../src/otlp/push.js';
import { gather } from '../../src/otlp/gather.js';
import { Secret } from '../../src/config/secret.js';
import { writeTemp } from '../helpers/binaries.js';
import { startOtlpReceiver, type OtlpReceiver } from '../helpers/otlpReceiver.js';

const TOKEN = 'otlp-bearer-token-value-7f3a';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function memoryLogger() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } }));
  return { logger, lines };
}

/** A registry shaped like a large MSP: one gauge with `series` label sets, a counter and the histogram. */
function bigRegistry(series: number) {
  const registry = new Registry();
  const status = new Gauge({ name: 'm365_service_status', help: 'status', labelNames: ['tenant', 'service_id', 'status'], registers: [registry] });
  for (let i = 0; i < series; i++) status.set({ tenant: `t${i % 60}`, service_id: `Svc${i}`, status: 'serviceOperational' }, i % 2);
  new Counter({ name: 'm365_exporter_graph_requests_total', help: 'requests', labelNames: ['tenant', 'code'], registers: [registry] }).inc({ tenant: 't0', code: '200' }, 7);
  const histogram = new Histogram({ name: 'm365_exporter_graph_request_duration_seconds', help: 'duration', labelNames: ['tenant'], buckets: [0.1, 1], registers: [registry] });
  for (const v of [0.05, 0.5, 0.7, 5]) histogram.observe({ tenant: 't0' }, v);
  return registry;
}

async function push(receiver: OtlpReceiver, registry: Registry | (() => Promise<PromFamily[]>), overrides: Partial<OtlpOptions> = {}) {
  const { logger, lines } = memoryLogger();
  const exportsTotal = new Counter({ name: OTLP_EXPORTS.name, help: OTLP_EXPORTS.help, labelNames: ['result'], registers: [] });
  const options: OtlpOptions = {
    endpoint: receiver.endpoint, protocol: 'http/protobuf', compression: 'none', headers: { Authorization: new Secret(`Bearer ${TOKEN}`) }, interval: 300, timeout: 300, ...overrides,
  };
  const source = registry instanceof Registry ? () => gather([], registry) : registry;
  const pusher = startOtlpPush(options, { gather: source, exportsTotal, logger, serviceVersion: '9.9.9' });
  let stopped = false;
  const stop = async () => {
    if (!stopped) await pusher.stop();
    stopped = true;
  };
  cleanups.push(stop);
  const results = async () => Object.fromEntries((await exportsTotal.get()).values.map((v) => [v.labels.result, v.value]));
  return { pusher, lines, results, stop };
}

describe('toMetricData', () => {
  const families: PromFamily[] = [
    { name: 'g', help: 'a gauge', type: 'gauge', values: [{ value: 1, labels: { tenant: 'a', n: 3 } }] },
    { name: 'c_total', help: 'a counter', type: 'counter', values: [{ value: 5, labels: { tenant: 'a' } }] },
    {
      name: 'h_seconds', help: 'a histogram', type: 'histogram', values: [
        { value: 1, labels: { le: 0.1, tenant: 'a' }, metricName: 'h_seconds_bucket' },
        { value: 3, labels: { le: 1, tenant: 'a' }, metricName: 'h_seconds_bucket' },
        { value: 4, labels: { le: '+Inf', tenant: 'a' }, metricName: 'h_seconds_bucket' },
        { value: 6.2, labels: { tenant: 'a' }, metricName: 'h_seconds_sum' },
        { value: 4, labels: { tenant: 'a' }, metricName: 'h_seconds_count' },
      ],
    },
  ];
  const [gauge, counter, histogram] = toMetricData(families, [1, 0], [2, 0]);

  it('maps gauges to Gauge and counters to monotonic cumulative Sum, labels to string attributes', () => {
    expect(gauge).toMatchObject({ descriptor: { name: 'g', description: 'a gauge' }, dataPointType: 2, dataPoints: [{ attributes: { tenant: 'a', n: '3' }, value: 1 }] });
    expect(counter).toMatchObject({ descriptor: { name: 'c_total' }, dataPointType: 3, isMonotonic: true, aggregationTemporality: 1, dataPoints: [{ startTime: [1, 0], value: 5 }] });
  });

  it('turns cumulative Prometheus buckets into per-bucket OTLP counts, without the le label', () => {
    expect(histogram!.dataPoints).toEqual([{
      startTime: [1, 0], endTime: [2, 0], attributes: { tenant: 'a' },
      value: { buckets: { boundaries: [0.1, 1], counts: [1, 2, 1] }, sum: 6.2, count: 4, hasMinMax: false },
    }]);
  });
});

describe('startOtlpPush', () => {
  it('pushes 12,000 series of one metric unfolded: no SDK aggregation, so no cardinality limit and no otel.metric.overflow', async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.stop());
    // 12,000 series take longer to encode, send and decode than the 300 ms the other tests allow an export: on a busy CI
    // machine one export timed out and was counted as a failure. This test is about what arrives, not how fast.
    const { results } = await push(receiver, bigRegistry(12_000), { interval: 1_500, timeout: 1_500 });
    const received = await receiver.nextExport(0);
    const status = received.metrics!.find((m) => m.name === 'm365_service_status')!;
    expect(status.points).toHaveLength(12_000);
    expect(new Set(status.points.map((p) => p.attributes.service_id)).size).toBe(12_000);
    expect(received.metrics!.flatMap((m) => m.points).some((p) => 'otel.metric.overflow' in p.attributes)).toBe(false);
    expect(received.resource).toMatchObject({ 'service.name': 'm365-health-exporter', 'service.version': '9.9.9' });
    expect(received.resource!['service.instance.id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(received.scopes).toEqual([{ name: 'm365-health-exporter', version: '9.9.9' }]);
    expect(received.metrics!.find((m) => m.name === 'm365_exporter_graph_request_duration_seconds')!.points[0]).toMatchObject({
      attributes: { tenant: 't0' }, count: 4, sum: 6.25, explicitBounds: [0.1, 1], bucketCounts: [1, 2, 1],
    });
    await expect.poll(results).toMatchObject({ success: expect.any(Number), failure: 0 });
  });

  it('sends the configured headers but never logs them', async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.stop());
    const { lines, stop } = await push(receiver, bigRegistry(3), { protocol: 'http/json' });
    const received = await receiver.nextExport(0);
    expect(received.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(received.contentType).toMatch(/^application\/json/);
    receiver.respondWith(401);
    const failedAt = Date.now();
    await expect.poll(() => receiver.requests.some((r) => r.receivedAt > failedAt && r.status === 401)).toBe(true);
    await stop();
    expect(lines.join('')).toContain('OTLP export failed');
    expect(lines.join('')).not.toContain(TOKEN);
  });

  it('counts a failed read of the registries as a failed export and sends nothing', async () => {
    const receiver = await startOtlpReceiver();
    cleanups.push(() => receiver.stop());
    const { results, lines } = await push(receiver, () => Promise.reject(new Error('registry exploded')));
    await expect.poll(results).toMatchObject({ failure: expect.toSatisfy((n: number) => n >= 2), success: 0 });
    expect(receiver.requests).toEqual([]);
    expect(lines.join('')).toContain('registry exploded');
  });

  it('exports once more on stop, and stop is bounded when the receiver is gone', async () => {
    const receiver = await startOtlpReceiver();
    const { stop } = await push(receiver, bigRegistry(3), { interval: 60_000, timeout: 1_000 });
    const before = Date.now();
    await stop();
    expect((await receiver.nextExport(before, 1_000)).metrics!.length).toBeGreaterThan(0);
    await receiver.stop();

    const gone = await push(receiver, bigRegistry(3), { interval: 60_000, timeout: 1_000 });
    const started = Date.now();
    await gone.stop();
    expect(Date.now() - started).toBeLessThan(2_500);
    expect(await gone.results()).toMatchObject({ failure: 1 });
  });
});

describe('otlp config', () => {
  const base = 'tenants:\n  - { name: t, tenantId: contoso.onmicrosoft.com, clientId: 5a1c0c8e-2222-4b8e-8f3e-000000000001, clientSecret: s }\n';

  it('holds header values as secrets that no dump shows', () => {
    const path = writeTemp('config.yml', `${base}otlp:\n  endpoint: http://collector:4318/v1/metrics\n  headers: { Authorization: "Bearer \${OTLP_TOKEN}" }\n`);
    const config = loadConfigFile(path, { OTLP_TOKEN: TOKEN });
    expect(config.otlp).toMatchObject({ protocol: 'http/protobuf', compression: 'none', interval: 60_000, timeout: 10_000 });
    expect(config.otlp!.headers.Authorization!.reveal()).toBe(`Bearer ${TOKEN}`);
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 }), JSON.stringify(redactedConfig(config))]) expect(shown).not.toContain(TOKEN);
  });

  it.each([
    ['  endpoint: http://collector:4318\n', 'otlp.endpoint: must include the path, e.g. http://otel-collector:4318/v1/metrics (the URL is used as given)'],
    ['  endpoint: http://collector:4318/v1/metrics\n  interval: 10s\n  timeout: 30s\n', 'otlp.timeout: must not exceed interval (an export must end before the next one starts)'],
    ['  endpoint: grpc://collector:4317\n', 'otlp.endpoint: must be an http:// or https:// URL, e.g. http://otel-collector:4318/v1/metrics'],
  ])('rejects %j', (otlp, message) => {
    const path = writeTemp('config.yml', `${base}otlp:\n${otlp}`);
    expect(() => loadConfigFile(path)).toThrow(`${path}: ${message}`);
  });
});
