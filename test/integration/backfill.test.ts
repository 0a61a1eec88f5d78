/**
 * `m365-health-exporter backfill`: the history store's record of an incident becomes OpenMetrics with timestamps,
 * `promtool tsdb create-blocks-from openmetrics` makes blocks of it, and a real Prometheus started on those blocks
 * shows the service not operational exactly while the incident was open.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { HistoryStore } from '../../src/history/store.js';
import { startPrometheus, type RunningBinary } from '../helpers/binaries.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const dir = mkdtempSync(join(tmpdir(), 'm365-backfill-'));
let prometheus: (RunningBinary & { query(expr: string): Promise<unknown> }) | undefined;
afterAll(async () => {
  await prometheus?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('backfill from the history store', () => {
  it('writes what promtool turns into blocks, and Prometheus shows the incident from day X to day Y', async () => {
    const now = Date.now();
    const opened = Math.floor((now - 6 * DAY) / HOUR) * HOUR + 30 * 60_000; // day X, on the half hour
    const resolved = opened + 2 * DAY + 7 * HOUR; // day Y
    const storePath = join(dir, 'history.db');
    const store = await HistoryStore.open({ path: storePath, retentionMs: 90 * DAY, logger: pino({ level: 'silent' }) });
    const incident = {
      id: 'EX123456', serviceId: 'Exchange', serviceName: 'Exchange Online', classification: 'incident', status: 'serviceDegradation', origin: 'microsoft',
      featureGroup: 'E-Mail timely delivery', feature: 'Mail flow', title: 'Mail delayed', isResolved: false, start: opened, end: null, lastModified: opened,
    };
    store.recordServiceStatuses('contoso', [{ id: 'Exchange', status: 'serviceOperational' }, { id: 'SharePoint', status: 'serviceOperational' }], now - 9 * DAY);
    store.recordIssues('contoso', [incident], opened);
    store.recordServiceStatuses('contoso', [{ id: 'Exchange', status: 'serviceDegradation' }, { id: 'SharePoint', status: 'serviceOperational' }], opened);
    store.recordIssues('contoso', [{ ...incident, status: 'serviceRestored', isResolved: true, end: resolved, lastModified: resolved }], resolved);
    store.recordServiceStatuses('contoso', [{ id: 'Exchange', status: 'serviceOperational' }, { id: 'SharePoint', status: 'serviceOperational' }], resolved);
    await store.flush();
    store.close();

    const config = join(dir, 'config.yml');
    writeFileSync(config, stringify({
      storage: { path: storePath },
      tenants: [{ name: 'contoso', tenantId: '00000000-0000-4000-8000-000000000001', clientId: '00000000-0000-4000-8000-000000000002', clientSecret: 'not-used' }],
    }));
    const output = join(dir, 'backfill.om');
    execFileSync(process.execPath, [CLI, 'backfill', '--config.file', config, '--tenant', 'contoso', '--days', '8', '--output', output]);
    const text = readFileSync(output, 'utf8');
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toMatch(/^m365_service_operational\{tenant="contoso",service_id="Exchange"\} 0 \d+(\.\d+)?$/m);

    const blocks = join(dir, 'blocks');
    execFileSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', output, blocks], { stdio: 'pipe' });
    prometheus = await startPrometheus({ scrape: [], dataDir: blocks });
    const range = async (expr: string) => {
      const url = `${prometheus!.url}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${(now - 8 * DAY) / 1000}&end=${now / 1000}&step=1800`;
      const body = (await (await fetch(url)).json()) as { data: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> } };
      return body.data.result;
    };
    const [exchange] = await range('m365_service_operational{tenant="contoso",service_id="Exchange"}');
    expect(exchange!.values.length).toBeGreaterThan(300);
    const wrong = exchange!.values.filter(([t, v]) => (t * 1000 >= opened && t * 1000 < resolved ? v !== '0' : v !== '1'));
    expect(wrong).toEqual([]);
    expect(exchange!.values.filter(([, v]) => v === '0').length).toBe(Math.ceil((resolved - opened) / 1_800_000));
    const [open] = await range('m365_service_issues_open{tenant="contoso",service_id="Exchange",classification="incident"} == 1');
    expect(open!.values[0]![0] * 1000).toBeGreaterThanOrEqual(opened);
    expect(open!.values.at(-1)![0] * 1000).toBeLessThan(resolved);
    const [sharePoint] = await range('min_over_time(m365_service_operational{service_id="SharePoint"}[1h])');
    expect(sharePoint!.values.every(([, v]) => v === '1')).toBe(true);
    const states = await range('m365_service_status{service_id="Exchange",status="serviceDegradation"} == 1');
    expect(states).toHaveLength(1);
  });
});
