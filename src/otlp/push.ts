import { randomUUID } from 'node:crypto';
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, hrTime, millisToHrTime, type ExportResult } from '@opentelemetry/core';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import { OTLPMetricExporter as JsonExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtobufExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  MeterProvider,
  PeriodicExportingMetricReader,
  type CollectionResult,
  type DataPoint,
  type Histogram,
  type MetricData,
  type MetricProducer,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Counter } from 'prom-client';
import type { Secret } from '../config/secret.js';
import type { Logger } from '../logger.js';

/** The `otlp:` section of the config, with what the OTEL_EXPORTER_OTLP_* variables add (src/config/otelEnv.ts). */
export interface OtlpOptions {
  /** Full URL of the OTLP/HTTP metrics endpoint, used as given (e.g. `http://otel-collector:4318/v1/metrics`). */
  endpoint: string;
  /** @default 'http/protobuf' */
  protocol: 'http/protobuf' | 'http/json';
  /** @default 'none' */
  compression: 'none' | 'gzip';
  /** Sent with every export; never logged. */
  headers: Record<string, Secret>;
  /** Milliseconds between exports. @default 60000 */
  interval: number;
  /** Milliseconds one export may take, retries included; at most `interval`. @default 10000, or `interval` when shorter */
  timeout: number;
}

/** One family as prom-client's `getMetricsAsJSON()` returns it (its `type` is a string at run time). */
export interface PromFamily {
  name: string;
  help: string;
  type: unknown;
  values: Array<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }>;
}

export interface OtlpPushDependencies {
  /** Every family /metrics serves, read from the same registries (the same cheap read a scrape does). */
  gather(): Promise<PromFamily[]>;
  /** `m365_exporter_otlp_exports_total{result}`. */
  exportsTotal: Counter<string>;
  logger: Logger;
  serviceVersion: string;
}

export interface OtlpPush {
  /** Exports once more, then shuts down; waits at most `timeout` + 1 s. Never throws. */
  stop(): Promise<void>;
}

const SERVICE_NAME = 'm365-health-exporter';

/**
 * Pushes every metric of /metrics over OTLP/HTTP. The SDK meter has no instruments: a MetricProducer converts the
 * prom-client families at each export, so the values are those of /metrics, the metric list is the registries'
 * (no second list), and no SDK aggregation, hence no cardinality limit or `otel.metric.overflow` series, applies.
 */
export function startOtlpPush(options: OtlpOptions, { gather, exportsTotal, logger, serviceVersion }: OtlpPushDependencies): OtlpPush {
  // A new id per process: cumulative counters restart with the process, so each run is its own instance.
  const defaults = { 'service.name': SERVICE_NAME, 'service.version': serviceVersion, 'service.instance.id': randomUUID() };
  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME (the SDK's envDetector) add to these and win over them, as the
  // spec asks: https://opentelemetry.io/docs/specs/otel/resource/sdk/#specifying-resource-information-via-an-environment-variable
  const resource = resourceFromAttributes(defaults).merge(detectResources({ detectors: [envDetector] }));
  const resourceAttributes = resource.attributes;
  const log = logger.child({ otlp: { endpoint: redactUrl(options.endpoint), protocol: options.protocol, compression: options.compression } });
  for (const result of ['success', 'failure']) exportsTotal.inc({ result }, 0);

  let failing = false;
  let succeeded = false;
  const record = (result: ExportResult, dataPoints: number, durationMs: number): void => {
    if (result.code === ExportResultCode.SUCCESS) {
      exportsTotal.inc({ result: 'success' });
      const details = { dataPoints, durationMs: Math.round(durationMs) };
      if (failing || !succeeded) log.info(details, failing ? 'OTLP export recovered' : 'OTLP export succeeded; later successes log at debug level');
      else log.debug(details, 'OTLP export succeeded');
      failing = false;
      succeeded = true;
    } else {
      exportsTotal.inc({ result: 'failure' });
      failing = true;
      log.warn({ dataPoints, durationMs: Math.round(durationMs), err: describeError(result.error) }, 'OTLP export failed after retries; the next export sends current values again');
    }
  };

  const scope = { name: SERVICE_NAME, version: serviceVersion };
  const producer: MetricProducer = {
    async collect(): Promise<CollectionResult> {
      try {
        const families = await gather();
        return { resourceMetrics: { resource, scopeMetrics: [{ scope, metrics: toMetricData(families, PROCESS_START, hrTime()) }] }, errors: [] };
      } catch (error) {
        // Nothing to send: the reader skips this export, and the failure is counted here.
        record({ code: ExportResultCode.FAILED, error: error as Error }, 0, 0);
        return { resourceMetrics: { resource, scopeMetrics: [] }, errors: [] };
      }
    },
  };

  const exporterConfig = {
    url: options.endpoint,
    headers: Object.fromEntries(Object.entries(options.headers).map(([name, value]) => [name, value.reveal()])),
    timeoutMillis: options.timeout,
    compression: options.compression === 'gzip' ? CompressionAlgorithm.GZIP : CompressionAlgorithm.NONE,
  };
  const otlpExporter = options.protocol === 'http/json' ? new JsonExporter(exporterConfig) : new ProtobufExporter(exporterConfig);
  const reader = new PeriodicExportingMetricReader({
    exporter: new CountingExporter(otlpExporter, record),
    exportIntervalMillis: options.interval,
    // The OTLP exporter bounds each export (retries included) by `timeout`; the reader only needs to finish before the next run.
    exportTimeoutMillis: options.interval,
    metricProducers: [producer],
  });
  const provider = new MeterProvider({ resource, readers: [reader] });
  log.info({ intervalMs: options.interval, resource: resourceAttributes }, 'OTLP push started');

  return {
    async stop() {
      try {
        await provider.shutdown({ timeoutMillis: options.timeout + 1_000 });
      } catch (error) {
        log.warn({ err: describeError(error) }, 'OTLP push did not shut down in time; the last export may be lost');
      }
    },
  };
}

const PROCESS_START: HrTime = millisToHrTime(performance.timeOrigin);

/**
 * prom-client families → OTLP metric data: gauges (state sets and *_info included) → Gauge, counters → monotonic
 * cumulative Sum starting at `startTime` (counters live as long as the process), histograms → explicit-bucket
 * Histogram with per-bucket counts (Prometheus buckets are cumulative). Names, help and labels are kept as they
 * are; every label, `tenant` included, becomes a point attribute. prom-client summaries (none exist) are skipped.
 */
export function toMetricData(families: PromFamily[], startTime: HrTime, endTime: HrTime): MetricData[] {
  const metrics: MetricData[] = [];
  for (const family of families) {
    const descriptor = { name: family.name, description: family.help, unit: '', valueType: ValueType.DOUBLE };
    const point = <T>(attributes: Attributes, value: T): DataPoint<T> => ({ startTime, endTime, attributes, value });
    switch (family.type) {
      case 'gauge':
        metrics.push({
          descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE,
          dataPoints: family.values.map((v) => point(attributesOf(v.labels), v.value)),
        });
        break;
      case 'counter':
        metrics.push({
          descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true,
          dataPoints: family.values.map((v) => point(attributesOf(v.labels), v.value)),
        });
        break;
      case 'histogram':
        metrics.push({
          descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM,
          dataPoints: histogramPoints(family).map(({ attributes, histogram }) => point(attributes, histogram)),
        });
        break;
    }
  }
  return metrics;
}

function histogramPoints(family: PromFamily): Array<{ attributes: Attributes; histogram: Histogram }> {
  const series = new Map<string, { attributes: Attributes; buckets: Array<[number, number]>; sum: number; count: number }>();
  for (const { labels, value, metricName } of family.values) {
    const { le, ...rest } = labels;
    const attributes = attributesOf(rest);
    const key = JSON.stringify(Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1)));
    let entry = series.get(key);
    if (!entry) series.set(key, (entry = { attributes, buckets: [], sum: 0, count: 0 }));
    if (metricName === `${family.name}_sum`) entry.sum = value;
    else if (metricName === `${family.name}_count`) entry.count = value;
    else if (le !== undefined && le !== '+Inf') entry.buckets.push([Number(le), value]);
  }
  return [...series.values()].map(({ attributes, buckets, sum, count }) => {
    buckets.sort(([a], [b]) => a - b);
    const counts = buckets.map(([, cumulative], i) => cumulative - (i === 0 ? 0 : buckets[i - 1]![1]));
    counts.push(count - (buckets.at(-1)?.[1] ?? 0));
    return { attributes, histogram: { buckets: { boundaries: buckets.map(([bound]) => bound), counts }, sum, count, hasMinMax: false } };
  });
}

function attributesOf(labels: Record<string, string | number | undefined>): Attributes {
  const attributes: Attributes = {};
  for (const [key, value] of Object.entries(labels)) if (value !== undefined) attributes[key] = String(value);
  return attributes;
}

/** Passes exports through and reports each one's result (after the OTLP exporter's own retries) with its size and duration. */
class CountingExporter implements PushMetricExporter {
  constructor(
    private readonly inner: PushMetricExporter,
    private readonly report: (result: ExportResult, dataPoints: number, durationMs: number) => void,
  ) {}

  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    const started = performance.now();
    const dataPoints = metrics.scopeMetrics.reduce((n, scope) => n + scope.metrics.reduce((m, metric) => m + metric.dataPoints.length, 0), 0);
    this.inner.export(metrics, (result) => {
      this.report(result, dataPoints, performance.now() - started);
      resultCallback(result);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** The error's message, HTTP status and the start of the receiver's answer; never the request (its headers may hold credentials). */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const { code, data } = error as { code?: unknown; data?: unknown };
  const answer = typeof data === 'string' && data !== '' ? `: ${data.slice(0, 200)}` : '';
  return typeof code === 'number' ? `HTTP ${code} ${error.message}${answer}` : error.message;
}

/** The endpoint as it may be logged: without user info and query, either of which can carry a credential. */
function redactUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.username || parsed.password) parsed.username = parsed.password = '';
  if (parsed.search) parsed.search = '?redacted';
  return parsed.toString();
}
