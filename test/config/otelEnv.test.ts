import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigFile, loadConfigFromEnv, type Config } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'm365-otel-env-'));
const TENANT = 'tenants:\n  - {name: contoso, tenantId: contoso.onmicrosoft.com, clientId: 5a1c0c8e-2222-4b8e-8f3e-000000000001, clientSecret: s}\n';
let files = 0;

function load(yaml: string, env: Record<string, string>): { config: Config; path: string } {
  const path = join(dir, `config-${files++}.yml`);
  writeFileSync(path, TENANT + yaml);
  return { config: loadConfigFile(path, env), path };
}

function errorOf(yaml: string, env: Record<string, string>): { message: string; path: string } {
  const path = join(dir, `config-${files++}.yml`);
  writeFileSync(path, TENANT + yaml);
  try {
    loadConfigFile(path, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return { message: (error as Error).message, path };
  }
  throw new Error('expected a ConfigError');
}

const headersOf = (config: Config) => Object.fromEntries(Object.entries(config.otlp!.headers).map(([name, value]) => [name, value.reveal()]));

describe('OTEL_* environment variables', () => {
  it('push without an otlp: key when OTEL_EXPORTER_OTLP_ENDPOINT is set, to its /v1/metrics, with the defaults', () => {
    const { config } = load('', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' });
    expect(config.otlp).toEqual({ endpoint: 'http://collector:4318/v1/metrics', protocol: 'http/protobuf', compression: 'none', headers: {}, interval: 60_000, timeout: 10_000 });
  });

  it('take the metrics-specific variables first, the endpoint as given', () => {
    const { config } = load('', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://general:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://metrics.example/otlp/v1/metrics',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'none', OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2000', OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '3000', OTEL_METRIC_EXPORT_INTERVAL: '15000',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20general,X-Scope-OrgID=team-a', OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'authorization=Bearer%20metrics',
    });
    expect(config.otlp).toMatchObject({ endpoint: 'https://metrics.example/otlp/v1/metrics', protocol: 'http/json', compression: 'gzip', interval: 15_000, timeout: 3_000 });
    expect(headersOf(config)).toEqual({ Authorization: 'Bearer general', 'X-Scope-OrgID': 'team-a', authorization: 'Bearer metrics' });
    // Header values are secrets like client secrets.
    expect(JSON.stringify(config.otlp)).not.toContain('Bearer');
  });

  it('lose to the keys of the otlp: section, headers by name in any case', () => {
    const { config } = load('otlp:\n  endpoint: http://file:4318/v1/metrics\n  headers:\n    authorization: from-file\n', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=from-env,X-Extra=also-env',
    });
    expect(config.otlp).toMatchObject({ endpoint: 'http://file:4318/v1/metrics', protocol: 'http/json' });
    expect(headersOf(config)).toEqual({ authorization: 'from-file', 'X-Extra': 'also-env' });
  });

  it('fill in an otlp: section of the file that has no endpoint', () => {
    expect(load('otlp:\n  compression: gzip\n', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://env:4318/v1/metrics' }).config.otlp)
      .toMatchObject({ endpoint: 'http://env:4318/v1/metrics', compression: 'gzip' });
  });

  it('do not enable the push without an endpoint, nor with OTEL_SDK_DISABLED=true', () => {
    expect(load('', { OTEL_EXPORTER_OTLP_HEADERS: 'a=b', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).config.otlp).toBeUndefined();
    expect(load('', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).config.otlp).toBeUndefined();
    const { config } = load('otlp:\n  endpoint: http://file:4318/v1/metrics\n', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SDK_DISABLED: 'TRUE' });
    expect(config.otlp).toMatchObject({ endpoint: 'http://file:4318/v1/metrics', protocol: 'http/protobuf' });
  });

  it('shorten the default timeout to a shorter interval', () => {
    expect(load('', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_METRIC_EXPORT_INTERVAL: '5000' }).config.otlp).toMatchObject({ interval: 5_000, timeout: 5_000 });
  });

  it('apply to the configuration from M365_* variables too', () => {
    const config = loadConfigFromEnv({
      M365_TENANT_ID: 'contoso.onmicrosoft.com', M365_CLIENT_ID: '5a1c0c8e-2222-4b8e-8f3e-000000000001', M365_CLIENT_SECRET: 's',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
    });
    expect(config.otlp?.endpoint).toBe('http://collector:4318/v1/metrics');
  });

  it('are refused with a message naming the variable, never a header value', () => {
    const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    let { message, path } = errorOf('', { ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expect(message).toBe(`${path}: otlp.protocol (from OTEL_EXPORTER_OTLP_PROTOCOL): must be http/protobuf or http/json (OTLP over HTTP; gRPC is not supported)`);
    ({ message, path } = errorOf('', { ...base, OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '5000000000' }));
    expect(message).toBe(`${path}: otlp.timeout (from OTEL_EXPORTER_OTLP_METRICS_TIMEOUT): "5000000000ms" is longer than the maximum, 24d (a Node.js timer cannot wait longer than 2^31-1 ms, about 24.8 days)`);
    ({ message, path } = errorOf('', { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://collector:4318' }));
    expect(message).toBe(`${path}: otlp.endpoint (from OTEL_EXPORTER_OTLP_METRICS_ENDPOINT): must include the path, e.g. http://otel-collector:4318/v1/metrics (the URL is used as given)`);
    ({ message, path } = errorOf('', { ...base, OTEL_EXPORTER_OTLP_HEADERS: 'bad name=hunter2-token' }));
    expect(message).toBe(`${path}: otlp.headers.bad name (from OTEL_EXPORTER_OTLP_HEADERS): must be an HTTP header name`);
    expect(errorOf('', { ...base, OTEL_EXPORTER_OTLP_TIMEOUT: '10s' }).message).toBe('environment: OTEL_EXPORTER_OTLP_TIMEOUT: must be a whole number of milliseconds, such as 10000');
    ({ message } = errorOf('', { ...base, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer hunter2-token,hunter2-token-without-name' }));
    expect(message).toBe('environment: OTEL_EXPORTER_OTLP_HEADERS: entry 2 is not name=value (entries are separated by commas, values percent-encoded)');
    ({ message } = errorOf('', { ...base, OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'Authorization=hunter2%zz' }));
    expect(message).toBe('environment: OTEL_EXPORTER_OTLP_METRICS_HEADERS: entry 1 is not percent-encoded correctly');
  });
});
