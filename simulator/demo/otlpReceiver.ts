/**
 * The demo's OTLP/HTTP receiver for `http/json` (https://opentelemetry.io/docs/specs/otlp/#otlphttp): it decodes
 * each export the exporter pushes and describes it in one line (data points, metric families, a few values per
 * tenant). Loopback only.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

interface JsonPoint {
  attributes?: Array<{ key: string; value?: { stringValue?: string } }>;
  asDouble?: number;
  asInt?: number | string;
}
interface JsonMetric {
  name: string;
  gauge?: { dataPoints?: JsonPoint[] };
  sum?: { dataPoints?: JsonPoint[] };
  histogram?: { dataPoints?: JsonPoint[] };
}
interface JsonRequest {
  resourceMetrics?: Array<{ scopeMetrics?: Array<{ metrics?: JsonMetric[] }> }>;
}

export interface DemoOtlpReceiver {
  /** `http://127.0.0.1:PORT/v1/metrics`, for `otlp.endpoint`. */
  endpoint: string;
  stop(): Promise<void>;
}

export async function startDemoOtlpReceiver(print: (line: string) => void): Promise<DemoOtlpReceiver> {
  let exports = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/metrics') {
        res.writeHead(404).end();
        return;
      }
      try {
        const wire = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire;
        const request = JSON.parse(body.toString('utf8')) as JsonRequest;
        print(`otlp: export ${++exports} received (${Math.round(wire.length / 1024)} KiB): ${describe(request)}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch (error) {
        print(`otlp: refused an export: ${(error as Error).message}`);
        res.writeHead(400, { 'content-type': 'application/json' }).end('{}');
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `1234 data points in 61 metric families; services not operational: contoso 1, fabrikam 0; …`. */
export function describe(request: JsonRequest): string {
  const metrics = (request.resourceMetrics ?? []).flatMap((r) => r.scopeMetrics ?? []).flatMap((s) => s.metrics ?? []);
  const points = (m: JsonMetric) => m.gauge?.dataPoints ?? m.sum?.dataPoints ?? m.histogram?.dataPoints ?? [];
  const attribute = (p: JsonPoint, key: string) => p.attributes?.find((a) => a.key === key)?.value?.stringValue;
  const value = (p: JsonPoint) => Number(p.asDouble ?? p.asInt ?? 0);
  /** Per tenant: the sum of `contribution` over the points of `name`. */
  const perTenant = (name: string, contribution: (p: JsonPoint) => number): string => {
    const totals = new Map<string, number>();
    for (const p of metrics.filter((m) => m.name === name).flatMap(points)) {
      const tenant = attribute(p, 'tenant') ?? '?';
      totals.set(tenant, (totals.get(tenant) ?? 0) + contribution(p));
    }
    return totals.size === 0 ? 'none' : [...totals].sort(([a], [b]) => a.localeCompare(b)).map(([tenant, total]) => `${tenant} ${total}`).join(', ');
  };
  const tokenErrors = metrics.filter((m) => m.name === 'm365_exporter_token_error_info').flatMap(points)
    .map((p) => `${attribute(p, 'tenant')} ${attribute(p, 'error_code')}`);
  return [
    `${metrics.reduce((n, m) => n + points(m).length, 0)} data points in ${new Set(metrics.map((m) => m.name)).size} metric families`,
    `services not operational: ${perTenant('m365_service_operational', (p) => (value(p) === 0 ? 1 : 0))}`,
    `open incidents: ${perTenant('m365_service_issues_open', (p) => (attribute(p, 'classification') === 'incident' ? value(p) : 0))}`,
    `failing collectors: ${perTenant('m365_exporter_collector_success', (p) => (value(p) === 0 ? 1 : 0))}`,
    `Graph 429s: ${perTenant('m365_exporter_graph_throttled_total', value)}`,
    `token errors: ${tokenErrors.length > 0 ? tokenErrors.join(', ') : 'none'}`,
  ].join('; ');
}
