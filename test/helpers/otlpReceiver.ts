import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const REQUEST = protobuf
  .loadSync(fileURLToPath(new URL('../fixtures/otlp/metrics-subset.proto', import.meta.url)))
  .lookupType('otlp.ExportMetricsServiceRequest');

export interface OtlpPoint {
  attributes: Record<string, string>;
  startTimeUnixNano: number;
  timeUnixNano: number;
  /** Gauge and sum points. */
  value?: number;
  /** Histogram points. */
  count?: number;
  sum?: number;
  bucketCounts?: number[];
  explicitBounds?: number[];
}

export interface OtlpMetric {
  name: string;
  description: string;
  kind: 'gauge' | 'sum' | 'histogram';
  isMonotonic?: boolean;
  /** 1 delta, 2 cumulative. */
  temporality?: number;
  points: OtlpPoint[];
}

export interface OtlpRequest {
  receivedAt: number;
  status: number;
  contentType: string;
  headers: IncomingHttpHeaders;
  /** Body size on the wire, and after gunzip when it was compressed. */
  bytes: number;
  decodedBytes: number;
  /** Decoded only for requests answered 2xx. */
  resource?: Record<string, string>;
  scopes?: Array<{ name: string; version: string }>;
  metrics?: OtlpMetric[];
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT/v1/metrics`. */
  endpoint: string;
  port: number;
  readonly requests: OtlpRequest[];
  /** Status code for the next requests (200 accepts and decodes; 503 etc. rejects). */
  respondWith(status: number): void;
  /** The first accepted export received after `time` (ms since epoch), waiting at most `timeoutMs`. */
  nextExport(after: number, timeoutMs?: number): Promise<OtlpRequest>;
  stop(): Promise<void>;
}

/** An OTLP/HTTP metrics receiver on 127.0.0.1 that decodes real payloads: protobuf with protobufjs, or OTLP/JSON. */
export async function startOtlpReceiver(port = 0): Promise<OtlpReceiver> {
  const requests: OtlpRequest[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const wire = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(wire) : wire;
      const contentType = req.headers['content-type'] ?? '';
      const entry: OtlpRequest = { receivedAt: Date.now(), status, contentType, headers: req.headers, bytes: wire.length, decodedBytes: body.length };
      if (req.url !== '/v1/metrics' || req.method !== 'POST') entry.status = 404;
      else if (status < 300) Object.assign(entry, decode(body, contentType));
      requests.push(entry);
      const json = contentType.startsWith('application/json');
      res.writeHead(entry.status, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${bound}/v1/metrics`,
    port: bound,
    requests,
    respondWith(code) {
      status = code;
    },
    async nextExport(after, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const found = requests.find((r) => r.receivedAt > after && r.metrics);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`no accepted OTLP export after ${new Date(after).toISOString()} within ${timeoutMs} ms (${requests.length} requests so far)`);
    },
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

type Decoded = Pick<OtlpRequest, 'resource' | 'scopes' | 'metrics'>;

/** Both encodings become the same plain object: protobufjs's toObject uses the lowerCamelCase names of OTLP/JSON. */
function decode(body: Buffer, contentType: string): Decoded {
  const request = (contentType.startsWith('application/json')
    ? JSON.parse(body.toString('utf8'))
    : REQUEST.toObject(REQUEST.decode(body), { longs: Number, defaults: false })) as RawRequest;
  const resourceMetrics = request.resourceMetrics ?? [];
  if (resourceMetrics.length !== 1) throw new Error(`expected one ResourceMetrics, got ${resourceMetrics.length}`);
  const [only] = resourceMetrics;
  const scopeMetrics = only!.scopeMetrics ?? [];
  return {
    resource: attributes(only!.resource?.attributes),
    scopes: scopeMetrics.map((s) => ({ name: s.scope?.name ?? '', version: s.scope?.version ?? '' })),
    metrics: scopeMetrics.flatMap((s) => s.metrics ?? []).map(metric),
  };
}

interface RawKeyValue { key: string; value?: { stringValue?: string; intValue?: number | string; doubleValue?: number; boolValue?: boolean } }
interface RawPoint {
  attributes?: RawKeyValue[];
  startTimeUnixNano?: number | string;
  timeUnixNano?: number | string;
  asDouble?: number;
  asInt?: number | string;
  count?: number | string;
  sum?: number;
  bucketCounts?: Array<number | string>;
  explicitBounds?: number[];
}
interface RawMetric {
  name: string;
  description?: string;
  gauge?: { dataPoints?: RawPoint[] };
  sum?: { dataPoints?: RawPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints?: RawPoint[]; aggregationTemporality?: number };
}
interface RawRequest {
  resourceMetrics?: Array<{ resource?: { attributes?: RawKeyValue[] }; scopeMetrics?: Array<{ scope?: { name?: string; version?: string }; metrics?: RawMetric[] }> }>;
}

function attributes(list: RawKeyValue[] = []): Record<string, string> {
  return Object.fromEntries(list.map(({ key, value }) => [key, String(value?.stringValue ?? value?.intValue ?? value?.doubleValue ?? value?.boolValue ?? '')]));
}

function point(raw: RawPoint): OtlpPoint {
  const p: OtlpPoint = { attributes: attributes(raw.attributes), startTimeUnixNano: Number(raw.startTimeUnixNano ?? 0), timeUnixNano: Number(raw.timeUnixNano ?? 0) };
  // A oneof member is present even when 0; absent means the sender sent no value.
  if (raw.asDouble !== undefined || raw.asInt !== undefined) p.value = Number(raw.asDouble ?? raw.asInt);
  return p;
}

function histogramPoint(raw: RawPoint): OtlpPoint {
  // proto3 leaves out zero scalars (count 0); `sum` is optional, so its presence is kept.
  return { ...point(raw), count: Number(raw.count ?? 0), sum: raw.sum, bucketCounts: (raw.bucketCounts ?? []).map(Number), explicitBounds: raw.explicitBounds ?? [] };
}

function metric(raw: RawMetric): OtlpMetric {
  const base = { name: raw.name, description: raw.description ?? '' };
  if (raw.gauge) return { ...base, kind: 'gauge', points: (raw.gauge.dataPoints ?? []).map(point) };
  if (raw.sum) return { ...base, kind: 'sum', isMonotonic: raw.sum.isMonotonic ?? false, temporality: raw.sum.aggregationTemporality, points: (raw.sum.dataPoints ?? []).map(point) };
  if (raw.histogram) return { ...base, kind: 'histogram', temporality: raw.histogram.aggregationTemporality, points: (raw.histogram.dataPoints ?? []).map(histogramPoint) };
  throw new Error(`metric ${raw.name} has no gauge, sum or histogram data`);
}

/** OTLP metrics back in Prometheus form (histograms as cumulative _bucket{le}, _sum, _count), to compare with /metrics. */
export function toPromSamples(metrics: OtlpMetric[]): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return metrics.flatMap((metric) => metric.points.flatMap((p) => {
    if (metric.kind !== 'histogram') return [{ name: metric.name, labels: p.attributes, value: p.value! }];
    let cumulative = 0;
    const buckets = p.bucketCounts!.map((count, i) => {
      cumulative += count;
      return { name: `${metric.name}_bucket`, labels: { ...p.attributes, le: i < p.explicitBounds!.length ? String(p.explicitBounds![i]) : '+Inf' }, value: cumulative };
    });
    return [...buckets, { name: `${metric.name}_sum`, labels: p.attributes, value: p.sum ?? 0 }, { name: `${metric.name}_count`, labels: p.attributes, value: p.count! }];
  }));
}

/** `name{a="1",b="2"}` with sorted labels: one key per series. */
export function seriesKey(sample: { name: string; labels: Record<string, string> }): string {
  return `${sample.name}{${Object.keys(sample.labels).sort().map((k) => `${k}=${JSON.stringify(sample.labels[k])}`).join(',')}}`;
}
