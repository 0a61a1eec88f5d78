/** The demo's parts (simulator/demo/): its PromQL, the signal checks, the log lines, the OTLP receiver's summary. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { formatLogLine } from '../../simulator/demo/logLine.js';
import { describe as describeExport, startDemoOtlpReceiver } from '../../simulator/demo/otlpReceiver.js';
import { COMMON_SIGNALS, DEMO_SCENARIOS } from '../../simulator/demo/scenarios.js';
import { holds, parseExposition, promql, series, shown, type Condition } from '../../simulator/demo/signals.js';

describe('demo signals', () => {
  it('every PromQL line the landing page shows passes promtool', () => {
    const conditions = [...Object.values(DEMO_SCENARIOS).flatMap((s) => s.signals), ...COMMON_SIGNALS].flatMap((s) => s.all);
    const dir = mkdtempSync(join(tmpdir(), 'm365-demo-promql-'));
    try {
      const file = join(dir, 'rules.yml');
      writeFileSync(file, stringify({ groups: [{ name: 'demo', rules: conditions.map((c, i) => ({ record: `demo:signal_${i}`, expr: promql(c) })) }] }));
      expect(execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' })).toContain(`SUCCESS: ${conditions.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const samples = parseExposition([
    '# TYPE m365_service_operational gauge',
    'm365_service_operational{tenant="contoso",service_id="SharePoint"} 0',
    'm365_service_operational{tenant="fabrikam",service_id="SharePoint"} 1',
    'm365_service_issue_info{tenant="contoso",title="a \\"quoted\\" {brace}",resolved="false"} 1',
    'm365_service_activity_value{tenant="contoso",metric="mfa"} 12',
    'm365_service_activity_value{tenant="fabrikam",metric="mfa"} 61',
    'm365_exporter_collector_errors_total{tenant="contoso",collector="health",reason="auth"} 3',
    'm365_exporter_collector_errors_total{tenant="contoso",collector="issues",reason="auth"} 0',
  ].join('\n'));
  const contoso = (name: string, labels: Record<string, string> = {}) => series(name, { tenant: 'contoso', ...labels });

  it('holds as PromQL answers: some matching series satisfies it; absent when none exists', () => {
    const cases: Array<[Condition, boolean]> = [
      [{ series: contoso('m365_service_operational', { service_id: 'SharePoint' }), op: '==', than: 0 }, true],
      [{ series: contoso('m365_service_operational', { service_id: 'SharePoint' }), op: '==', than: 1 }, false],
      [{ series: contoso('m365_exporter_collector_errors_total', { reason: 'auth' }), op: '>', than: 0 }, true],
      [{ series: contoso('m365_service_issue_info', { title: 'a "quoted" {brace}' }), op: '==', than: 1 }, true],
      [{ series: contoso('m365_service_info'), op: 'absent' }, true],
      [{ series: contoso('m365_service_operational'), op: 'absent' }, false],
      [{ series: contoso('m365_service_activity_value', { metric: 'mfa' }), op: '<', than: series('m365_service_activity_value', { tenant: 'fabrikam', metric: 'mfa' }), factor: 0.5 }, true],
      [{ series: contoso('m365_service_activity_value', { metric: 'mfa' }), op: '<', than: series('m365_service_activity_value', { tenant: 'fabrikam', metric: 'mfa' }), factor: 0.1 }, false],
      [{ series: contoso('m365_service_activity_value', { metric: 'mfa' }), op: '<', than: series('m365_service_activity_value', { tenant: 'nobody' }), factor: 1 }, false],
    ];
    for (const [condition, expected] of cases) expect(holds(condition, samples), promql(condition)).toBe(expected);
  });

  it('shows the values behind a condition, naming the series a selector leaves open', () => {
    expect(shown({ series: contoso('m365_exporter_collector_errors_total', { reason: 'auth' }), op: '>', than: 0 }, samples)).toBe('collector=health 3, collector=issues 0');
    expect(shown({ series: contoso('m365_service_activity_value', { metric: 'mfa' }), op: '<', than: series('m365_service_activity_value', { tenant: 'fabrikam', metric: 'mfa' }), factor: 0.5 }, samples)).toBe('12 vs 61');
    expect(shown({ series: contoso('m365_service_info'), op: 'absent' }, samples)).toBe('absent');
  });
});

describe('demo log lines', () => {
  it('turns the exporter\'s JSON lines into time level msg key=value, and passes other lines unchanged', () => {
    const time = Date.parse('2026-01-02T03:04:05Z');
    const line = JSON.stringify({ level: 40, time, pid: 1, hostname: 'h', app: 'm365-health-exporter', tenant: 'contoso', reason: 'auth', err: { message: 'token request refused: AADSTS7000222' }, msg: 'refresh failed' });
    expect(formatLogLine(line)).toBe(`${new Date(time).toTimeString().slice(0, 8)} warn  refresh failed tenant=contoso reason=auth err.message="token request refused: AADSTS7000222"`);
    expect(formatLogLine('time=2026-01-02T03:04:05Z level=info msg=listening')).toBe('time=2026-01-02T03:04:05Z level=info msg=listening');
    expect(formatLogLine('{"not":"a log line"}')).toBe('{"not":"a log line"}');
  });
});

describe('demo OTLP receiver', () => {
  it('prints one line per export with points, families and what stands out per tenant', async () => {
    const lines: string[] = [];
    const receiver = await startDemoOtlpReceiver((line) => lines.push(line));
    try {
      const point = (tenant: string, value: number, extra: Record<string, string> = {}) => ({
        attributes: Object.entries({ tenant, ...extra }).map(([key, v]) => ({ key, value: { stringValue: v } })),
        asDouble: value,
      });
      const body = {
        resourceMetrics: [{ scopeMetrics: [{ metrics: [
          { name: 'm365_service_operational', gauge: { dataPoints: [point('contoso', 0, { service_id: 'Exchange' }), point('contoso', 1, { service_id: 'Teams' }), point('fabrikam', 1)] } },
          { name: 'm365_service_issues_open', gauge: { dataPoints: [point('contoso', 2, { classification: 'incident' }), point('contoso', 5, { classification: 'advisory' })] } },
          { name: 'm365_exporter_graph_throttled_total', sum: { dataPoints: [{ ...point('contoso', 0), asDouble: undefined, asInt: '7' }] } },
          { name: 'm365_exporter_token_error_info', gauge: { dataPoints: [point('contoso', 1, { error_code: 'AADSTS7000222' })] } },
        ] }] }],
      };
      const response = await fetch(receiver.endpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(response.status).toBe(200);
      expect(lines).toEqual([`otlp: export 1 received (${Math.round(JSON.stringify(body).length / 1024)} KiB): ${describeExport(body)}`]);
      expect(lines[0]).toContain('7 data points in 4 metric families; services not operational: contoso 1, fabrikam 0; open incidents: contoso 2; failing collectors: none; Graph 429s: contoso 7; token errors: contoso AADSTS7000222');
      expect((await fetch(receiver.endpoint, { method: 'POST', body: 'not json' })).status).toBe(400);
    } finally {
      await receiver.stop();
    }
  });
});
