/**
 * Golden test of the renderer against prom-client, the library it replaced on the scrape path: for the same
 * samples it must write the same text (family order, label order, escaping of quotes, backslashes and newlines in
 * label values and HELP, special values), and promtool must accept it.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LineWriter, formatValue, renderHeader } from '../../src/exposition/render.js';
import { METRICS, type MetricDefinition } from '../../src/model/metrics.js';
import { execFileSync } from 'node:child_process';
import { writeTemp } from '../helpers/binaries.js';

const TRICKY = [
  'plain',
  'with "quotes"',
  'back\\slash',
  'new\nline',
  'all: \\"\n\\n',
  'unicode: Störung – 服务',
  '',
];
const VALUES = [0, 1, -1, 0.1, 1e21, 1.5e-7, 1_764_000_000.123, Number.MAX_SAFE_INTEGER, Infinity, -Infinity];

/** The families and samples of the golden run: every definition, with tricky label values and values. */
function samplesOf(def: MetricDefinition): Array<{ labels: Record<string, string>; value: number }> {
  const others = def.labels.filter((label) => label !== 'tenant');
  if (others.length === 0) return [{ labels: {}, value: 42 }]; // one label set, one series
  return TRICKY.map((text, i) => ({
    labels: Object.fromEntries(others.map((label, j) => [label, j === 0 ? `${text}#${i}` : text])),
    value: VALUES[i % VALUES.length]!,
  }));
}

const families = (Object.values(METRICS) as MetricDefinition[]).filter((def) => def.type !== 'histogram');

function withPromClient(): Promise<string> {
  const registry = new Registry();
  for (const def of families) {
    const common = { name: def.name, help: def.help, labelNames: def.labels as string[], registers: [registry] };
    const metric = def.type === 'counter' ? new Counter(common) : new Gauge(common);
    for (const { labels, value } of samplesOf(def)) {
      const full = { tenant: 'ten "a" \\ nt', ...labels };
      if (metric instanceof Counter) metric.inc(full, value === Infinity || value < 0 ? 1 : value);
      else metric.set(full, value);
    }
  }
  return registry.metrics();
}

function withRenderer(format: 'text' | 'openmetrics' = 'text'): string {
  const out = new LineWriter({ tenant: 'ten "a" \\ nt' });
  for (const def of families) {
    for (const { labels, value } of samplesOf(def)) out.add(def, labels, def.type === 'counter' && (value === Infinity || value < 0) ? 1 : value);
  }
  // prom-client separates families by a blank line and omits the trailing newline of the last sample.
  return families.map((def) => renderHeader(def, format) + (out.families.get(def.name) ?? '')).join(format === 'text' ? '\n' : '');
}

describe('exposition renderer', () => {
  it('writes byte for byte what prom-client writes for the same samples', async () => {
    const expected = await withPromClient();
    const actual = withRenderer();
    expect(actual.split('\n')).toEqual(expected.split('\n'));
  });

  it('writes NaN as the formats spell it (prom-client writes "Nan"), infinities as +Inf/-Inf', () => {
    expect(formatValue(Number.NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(0.1)).toBe('0.1');
  });

  it('passes promtool check metrics', () => {
    const out = new LineWriter({ tenant: 'x' });
    for (const def of families) for (const { labels, value } of samplesOf(def)) out.add(def, labels, def.type === 'counter' ? Math.abs(value) : value);
    out.add(METRICS.serviceOperational, { service_id: 'nan' }, Number.NaN);
    const text = families.map((def) => renderHeader(def, 'text') + (out.families.get(def.name) ?? '')).join('');
    // promtool exits non-zero and prints the problem on any lint or parse error; execFileSync throws then.
    const output = execFileSync('sh', ['-c', `promtool check metrics < ${writeTemp('golden.prom', text)}`], { encoding: 'utf8', stdio: 'pipe' });
    expect(output.trim()).toBe('');
  });

  it('names OpenMetrics counter families without _total, keeps the samples, and escapes quotes in HELP', () => {
    const header = renderHeader(METRICS.graphRequests, 'openmetrics');
    expect(header.split('\n')[0]).toMatch(/^# HELP m365_exporter_graph_requests HTTP requests/);
    expect(header.split('\n')[1]).toBe('# TYPE m365_exporter_graph_requests counter');
    expect(renderHeader(METRICS.requestBudgetRemaining, 'openmetrics')).toContain('api=\\"serviceCommunications\\"');
    expect(renderHeader(METRICS.requestBudgetRemaining, 'text')).toContain('api="serviceCommunications"');
    expect(withRenderer('openmetrics')).toContain('\nm365_exporter_graph_requests_total{tenant=');
  });

  it('writes the histogram suffixes and the le label after the tenant', () => {
    const out = new LineWriter({ tenant: 't' });
    out.add(METRICS.graphRequestDuration, { endpoint: 'issues', le: '0.5' }, 3, '_bucket');
    out.add(METRICS.graphRequestDuration, { endpoint: 'issues' }, 1.25, '_sum');
    expect(out.families.get(METRICS.graphRequestDuration.name)).toBe(
      'm365_exporter_graph_request_duration_seconds_bucket{tenant="t",endpoint="issues",le="0.5"} 3\n'
      + 'm365_exporter_graph_request_duration_seconds_sum{tenant="t",endpoint="issues"} 1.25\n',
    );
  });
});
