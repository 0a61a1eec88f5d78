/**
 * The OpenTelemetry environment variables on the real exporter process: an OTEL_EXPORTER_OTLP_ENDPOINT alone turns
 * the push on, the other OTEL_* variables shape it, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES go into the
 * resource, header values from the environment are never logged; and keys of the `otlp:` section win.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantConfig } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';

const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000601', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000601', clientSecret: 'contoso-otel-env-secret-6' };
const TOKEN = 'env-only-bearer-token-4242';

describe('an environment-only OTLP setup', () => {
  let stack: Stack<true>;

  beforeAll(async () => {
    stack = await startStack({
      simulator: { tenants: [{ ...CONTOSO, services: 'default' }] },
      otlp: true,
      // No otlp: key at all.
      config: ({ sim }) => ({ refresh: { health: '1h', issues: '1h', messages: '1h' }, tenants: [tenantConfig('contoso', sim, CONTOSO)] }),
      env: ({ otlp }) => ({
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint.replace(/\/v1\/metrics$/, ''),
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip',
        OTEL_EXPORTER_OTLP_HEADERS: `Authorization=Bearer%20${TOKEN},X-Scope-OrgID=team-a`,
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        OTEL_SERVICE_NAME: 'm365-health-prod',
        OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=prod,service.namespace=monitoring%20team',
      }),
    });
  });

  afterAll(() => stack?.stop());

  it('pushes to the endpoint\'s /v1/metrics with the protocol, compression and headers of the environment', async () => {
    const received = await stack.otlp.nextExport(0, 10_000);
    expect(received.contentType).toBe('application/json');
    expect(received.headers['content-encoding']).toBe('gzip');
    expect(received.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(received.headers['x-scope-orgid']).toBe('team-a');
    expect(received.metrics!.some((m) => m.name === 'm365_service_status')).toBe(true);
    // Every second, as OTEL_METRIC_EXPORT_INTERVAL says.
    const second = await stack.otlp.nextExport(received.receivedAt, 5_000);
    expect(second.receivedAt - received.receivedAt).toBeLessThan(3_000);
  });

  it('names the resource from OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, keeping version and instance', async () => {
    const received = await stack.otlp.nextExport(0);
    expect(received.resource).toEqual({
      'service.name': 'm365-health-prod', 'service.namespace': 'monitoring team', 'deployment.environment.name': 'prod',
      'service.version': '0.1.0', 'service.instance.id': expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
  });

  it('never logs a header value from the environment', async () => {
    await stack.otlp.nextExport(0);
    const logs = stack.exporter.logs.join('\n');
    expect(logs).toContain('OTLP push started');
    expect(logs).not.toContain(TOKEN);
  });
});

describe('an otlp: section with OTEL_* variables set too', () => {
  let stack: Stack<true>;

  beforeAll(async () => {
    stack = await startStack({
      simulator: { tenants: [{ ...CONTOSO, services: 'default' }] },
      otlp: true,
      config: ({ sim, otlp }) => ({
        refresh: { health: '1h', issues: '1h', messages: '1h' },
        otlp: { endpoint: otlp.endpoint, protocol: 'http/protobuf', interval: '1s', timeout: '1s', headers: { authorization: 'from-config' } },
        tenants: [tenantConfig('contoso', sim, CONTOSO)],
      }),
      env: () => ({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9',
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_HEADERS: `Authorization=${TOKEN},X-Extra=from-env`,
      }),
    });
  });

  afterAll(() => stack?.stop());

  it('uses the section\'s keys and adds the environment\'s other headers', async () => {
    const received = await stack.otlp.nextExport(0, 10_000);
    expect(received.contentType).toBe('application/x-protobuf');
    expect(received.headers.authorization).toBe('from-config');
    expect(received.headers['x-extra']).toBe('from-env');
    expect(stack.exporter.logs.join('\n')).not.toContain(TOKEN);
  });
});
