/**
 * The history store in its worker thread, as the exporter runs it: the built module (dist/, fresh: test/globalSetup.ts),
 * since a worker thread runs JavaScript files.
 */
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type * as Thread from '../../src/history/storeThread.js';

const { StoreThread } = (await import(new URL('../../dist/history/storeThread.js', import.meta.url).href)) as typeof Thread;

const DAY = 86_400_000;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'm365-store-thread-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(JSON.parse(chunk.toString())); done(); } }));
  return { logger, lines };
}

describe('history store thread', () => {
  it('records, queries and writes in its own thread, and a new thread reads back what the last one wrote', async () => {
    const path = join(dir, 'h.db');
    const { logger } = capturingLogger();
    const health: Array<{ ok: boolean; bytes?: number }> = [];
    const now = Date.now();
    const thread = await StoreThread.open({ path, retentionMs: 90 * DAY }, logger, (ok, { bytes }) => health.push({ ok, bytes }));
    await thread.call('recordServiceStatuses', 't', [{ id: 'Exchange', status: 'serviceDegradation' }], now - 3_600_000);
    await thread.call('recordServiceStatuses', 't', [{ id: 'Exchange', status: 'serviceOperational' }], now - 1_800_000);
    const counters = [{ metric: 'm365_exporter_graph_requests_total', labels: { endpoint: 'issues', code: '200' }, value: 7 }];
    await thread.call('saveState', 't', { counters, positions: { issues: { ids: ['EX1'] } } });
    const ratios = await thread.call('availability', 't', ['Exchange'], now);
    expect(ratios.map(([serviceId]) => serviceId)).toEqual(['Exchange']);
    // Half an hour degraded in seven days (src/history/daily.ts, availability).
    expect(ratios[0]![1]['7d']).toBeCloseTo(1 - 1_800_000 / (7 * DAY), 9);
    await thread.call('flush');
    await thread.close();
    expect(health.at(-1)?.ok).toBe(true);
    expect(health.at(-1)?.bytes).toBeGreaterThan(0);
    await expect(thread.call('loadState', 't')).rejects.toThrow(/closed/);

    const again = await StoreThread.open({ path, retentionMs: 90 * DAY }, logger, () => undefined);
    expect(await again.call('loadState', 't')).toEqual({ counters, positions: { issues: { ids: ['EX1'] } } });
    const daily = await again.call('daily', 't', 1, now, [{ id: 'Exchange', name: 'Exchange Online' }]);
    expect(daily.services.map((service) => [service.serviceId, service.serviceName])).toEqual([['Exchange', 'Exchange Online']]);
    await again.close();
  });

  it('reports an unreadable file through the main thread\'s logger, moved aside, and starts empty', async () => {
    const path = join(dir, 'h.db');
    writeFileSync(path, 'not a database');
    const { logger, lines } = capturingLogger();
    const health: boolean[] = [];
    const thread = await StoreThread.open({ path, retentionMs: 90 * DAY }, logger, (ok) => health.push(ok));
    expect(health).toEqual([false]);
    expect(lines.find((line) => String(line.msg).startsWith('history store unreadable'))).toMatchObject({ level: 50, path, movedTo: `${path}.corrupt` });
    expect(existsSync(`${path}.corrupt`)).toBe(true);
    expect(await thread.call('loadState', 't')).toEqual({ counters: [], positions: {} });
    await thread.close();
  });
});
