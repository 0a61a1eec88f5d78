import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import initSqlJs from 'sql.js';
import { HistoryStore, PAGE_SIZE, SCHEMA_VERSION, release } from '../../src/history/store.js';
import { DAY, T0, observedIssue, silentLogger, tempDirPerTest } from '../helpers/history.js';

const logger = silentLogger;
const dirOf = tempDirPerTest('m365-store-');
const issue = observedIssue;

describe('history store', () => {
  it('keeps issues with their transitions, service transitions, counters and positions across a reopen of the file', async () => {
    const path = join(dirOf(), 'sub', 'h.db');
    const health: boolean[] = [];
    const store = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, now: () => T0 + 10, onHealth: (ok) => health.push(ok) });
    store.recordServiceStatuses('t', [{ id: 'Exchange', status: 'serviceOperational' }], T0);
    store.recordServiceStatuses('t', [{ id: 'Exchange', status: 'serviceOperational' }], T0 + 1); // unchanged: nothing
    store.recordServiceStatuses('t', [{ id: 'Exchange', status: 'serviceDegradation' }], T0 + 2);
    store.recordIssues('t', [issue('EX1')], T0 + 2);
    store.recordIssues('t', [issue('EX1', { lastModified: T0 + 3 })], T0 + 3); // no status change: no transition
    store.recordIssues('t', [issue('EX1', { status: 'serviceRestored', isResolved: true, end: T0 + 4, lastModified: T0 + 4 })], T0 + 4);
    store.saveState('t', { counters: [{ metric: 'm365_service_issues_observed_total', labels: { service_id: 'Exchange', classification: 'incident' }, value: 3 }], positions: { issues: { ids: ['EX1'] } } });
    await store.flush();
    store.close();
    expect(health).toEqual([true, true]); // the missing file at open, then the write

    const again = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, now: () => T0 + 10 });
    expect(again.serviceTransitions('t')).toEqual([
      { serviceId: 'Exchange', at: T0, status: 'serviceOperational' },
      { serviceId: 'Exchange', at: T0 + 2, status: 'serviceDegradation' },
    ]);
    const [stored] = again.issues('t');
    expect(stored).toMatchObject({ id: 'EX1', status: 'serviceRestored', isResolved: true, end: T0 + 4, firstSeen: T0 + 2 });
    expect(stored!.transitions.map((t) => [t.at, t.status, t.isResolved])).toEqual([[T0 + 2, 'investigating', false], [T0 + 4, 'serviceRestored', true]]);
    expect(again.loadState('t').counters[0]!.value).toBe(3);
    expect(again.loadState('t').positions).toEqual({ issues: { ids: ['EX1'] } });
    // What it remembered is not recorded again after the reopen.
    again.recordServiceStatuses('t', [{ id: 'Exchange', status: 'serviceDegradation' }], T0 + 5);
    expect(again.serviceTransitions('t')).toHaveLength(2);
    again.close();
  });

  it('records the schema version and migrates an empty file to it', async () => {
    const store = await HistoryStore.open({ retentionMs: 90 * DAY, logger });
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(1);
    store.close();
    const path = join(dirOf(), 'v.db');
    const written = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger });
    written.recordServiceStatuses('t', [{ id: 'A', status: 'serviceOperational' }]);
    await written.flush();
    // The file is SQLite: its header says so.
    expect(readFileSync(path).subarray(0, 15).toString()).toBe('SQLite format 3');
  });

  it('moves a corrupt file aside, reports it, and starts empty', async () => {
    const path = join(dirOf(), 'bad.db');
    writeFileSync(path, 'this is not a database'.repeat(100));
    const health: boolean[] = [];
    const lines: string[] = [];
    const store = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger: pino({ level: 'error' }, { write: (line: string) => lines.push(line) }), onHealth: (ok) => health.push(ok) });
    expect(health).toEqual([false]);
    expect(lines.join('')).toContain('history store unreadable');
    expect(existsSync(`${path}.corrupt`)).toBe(true);
    expect(store.issues('t')).toEqual([]);
    store.recordServiceStatuses('t', [{ id: 'A', status: 'serviceOperational' }]);
    await store.flush();
    expect(health).toEqual([false, true]);
  });

  it('reports a write that fails and keeps the data for the next one', async () => {
    const locked = join(dirOf(), 'locked');
    const path = join(locked, 'h.db');
    const events: Array<{ ok: boolean; writeFailed?: boolean }> = [];
    const store = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, onHealth: (ok, e) => events.push({ ok, writeFailed: e.writeFailed }) });
    writeFileSync(locked, ''); // a file where the directory should be: no permission trick, so it fails as root too
    store.recordServiceStatuses('t', [{ id: 'A', status: 'serviceOperational' }]);
    await store.flush();
    expect(events.at(-1)).toEqual({ ok: false, writeFailed: true });
    rmSync(locked);
    await store.flush();
    expect(events.at(-1)).toEqual({ ok: true, writeFailed: undefined });
    expect(statSync(path).size).toBeGreaterThan(0);
  });

  it('prunes what ended before the retention, keeping the status still in force', async () => {
    let now = T0;
    const store = await HistoryStore.open({ retentionMs: 30 * DAY, logger, now: () => now });
    store.recordServiceStatuses('t', [{ id: 'A', status: 'serviceDegradation' }], T0);
    store.recordServiceStatuses('t', [{ id: 'A', status: 'serviceOperational' }], T0 + DAY);
    store.recordServiceStatuses('t', [{ id: 'B', status: 'serviceOperational' }], T0);
    store.recordIssues('t', [issue('OLD', { isResolved: true, end: T0 + DAY, status: 'serviceRestored' }), issue('OPEN')], T0);
    now = T0 + 40 * DAY;
    store.prune();
    expect(store.issues('t').map((i) => i.id)).toEqual(['OPEN']);
    expect(store.serviceTransitions('t')).toEqual([
      { serviceId: 'A', at: T0 + DAY, status: 'serviceOperational' },
      { serviceId: 'B', at: T0, status: 'serviceOperational' },
    ].sort((a, b) => a.at - b.at));
  });

  it('prunes at the first write and then at most hourly, not at every write (a scan of every issue at fleet size)', async () => {
    let now = T0 + 40 * DAY;
    const store = await HistoryStore.open({ path: join(dirOf(), 'h.db'), retentionMs: 30 * DAY, logger, now: () => now });
    const ended = (id: string) => issue(id, { isResolved: true, end: T0 + DAY, status: 'serviceRestored' });
    store.recordIssues('t', [ended('FIRST')], now);
    await store.flush();
    expect(store.issues('t').map((i) => i.id)).toEqual([]);
    store.recordIssues('t', [ended('SECOND')], now);
    now += 59 * 60_000;
    await store.flush();
    expect(store.issues('t').map((i) => i.id)).toEqual(['SECOND']);
    store.recordIssues('t', [issue('OPEN')], now);
    now += 60_000;
    await store.flush();
    expect(store.issues('t').map((i) => i.id)).toEqual(['OPEN']);
  });

  it('writes a tenant\'s state only when it changed, and drops a position no longer saved', async () => {
    const path = join(dirOf(), 'h.db');
    const written: number[] = [];
    const store = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, onHealth: (_ok, { bytes }) => bytes !== undefined && written.push(bytes) });
    const counters = [{ metric: 'm365_exporter_graph_requests_total', labels: { endpoint: 'issues', code: '200' }, value: 3 }];
    store.saveState('t', { counters, positions: { health: { services: [] }, issues: { ids: ['EX1'] } } });
    await store.flush();
    expect(written).toHaveLength(1);
    store.saveState('t', { counters, positions: { health: { services: [] }, issues: { ids: ['EX1'] } } });
    await store.flush();
    expect(written, 'the same state again: nothing to write').toHaveLength(1);
    store.saveState('t', { counters, positions: { issues: { ids: ['EX1', 'EX2'] } } });
    await store.flush();
    expect(written).toHaveLength(2);
    store.close();
    const reopened = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger });
    expect(reopened.loadState('t')).toEqual({ counters, positions: { issues: { ids: ['EX1', 'EX2'] } } });
    reopened.close();
  });

  it(`writes pages of ${PAGE_SIZE} bytes, and converts a file of 4 KiB pages (earlier releases) at its first write`, async () => {
    const pageSizeOf = (file: string) => readFileSync(file).readUInt16BE(16); // https://www.sqlite.org/fileformat.html#the_database_header
    const path = join(dirOf(), 'h.db');
    const store = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, now: () => T0 + 10 });
    store.recordServiceStatuses('t', [{ id: 'A', status: 'serviceOperational' }], T0);
    await store.flush();
    store.close();
    expect(pageSizeOf(path)).toBe(PAGE_SIZE);
    const SQL = await initSqlJs();
    const older = new SQL.Database(readFileSync(path));
    older.exec('PRAGMA page_size = 4096; VACUUM');
    writeFileSync(path, older.export());
    older.close();
    expect(pageSizeOf(path)).toBe(4096);
    const reopened = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, now: () => T0 + 10 });
    reopened.recordServiceStatuses('t', [{ id: 'A', status: 'serviceDegradation' }], T0 + 1);
    await reopened.flush();
    expect(pageSizeOf(path)).toBe(PAGE_SIZE);
    expect(reopened.serviceTransitions('t').map((t) => t.status)).toEqual(['serviceOperational', 'serviceDegradation']);
    reopened.close();
  });
});

/** `ArrayBuffer.prototype.transfer` (ES2024): Node.js 21 and later, so the runtime image's Node.js 24, not 20. */
const canTransfer = 'transfer' in ArrayBuffer.prototype;

describe('history store memory', () => {
  // Each write exports the whole database, a copy outside V8's heap that V8 collects for only once such memory grew by
  // 64 MiB (a probe at 500 tenants: docs/performance.md). Whether a write's copy is gone depends on when the collector
  // ran, so the test is of the release each write ends with.
  it('frees an export\'s own buffer at once where the runtime can (Node.js 21 and later), and never a view of a larger one', () => {
    const larger = new Uint8Array(64);
    release(larger.subarray(8, 16));
    expect(larger.buffer.byteLength).toBe(64);
    const own = new Uint8Array(64);
    release(own);
    expect(own.buffer.byteLength).toBe(canTransfer ? 0 : 64);
  });
});

describe('history store size', () => {
  it('stays small: 50 tenants, 30 days, written through the store with its own clock', async () => {
    const TENANTS = 50;
    const SERVICES = 40;
    let now = T0;
    const path = join(dirOf(), 'size.db');
    const store = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, now: () => now });
    // Per tenant and day: 3 issues (2 incidents, 1 advisory), each seen investigating, degraded, restored; the service
    // status following them; counters and positions as a tenant with serviceActivity saves them.
    const counters = Array.from({ length: 300 }, (_, i) => ({ metric: 'm365_exporter_graph_requests_total', labels: { endpoint: `e${i % 30}`, code: String(200 + (i % 10)) }, value: i * 1000 }));
    const positions = { serviceActivity: { functions: Array.from({ length: 35 }, (_, i) => [`getMetricsForSomething${i}`, { enabled: true, finalThrough: T0, latest: { start: T0, value: 1234 } }]) } };
    for (let day = 0; day < 30; day++) {
      for (let t = 0; t < TENANTS; t++) {
        const tenant = `tenant-${String(t).padStart(3, '0')}`;
        for (let n = 0; n < 3; n++) {
          const id = `EX${day}${t}${n}`;
          const service = `Svc${(day * 3 + n + t) % SERVICES}`;
          const base = { serviceId: service, serviceName: service, classification: n === 2 ? 'advisory' : 'incident', start: now + n * 3_600_000 };
          for (const [step, status] of ['investigating', 'serviceDegradation', 'serviceRestored'].entries()) {
            const at = base.start + step * 1_800_000;
            store.recordIssues(tenant, [issue(id, { ...base, status, isResolved: step === 2, end: step === 2 ? at : null, lastModified: at })], at);
            store.recordServiceStatuses(tenant, [{ id: service, status: step === 1 ? 'serviceDegradation' : 'serviceOperational' }], at);
          }
        }
        store.saveState(tenant, { counters, positions });
      }
      now += DAY;
    }
    await store.flush();
    const bytes = statSync(path).size;
    console.log(`history store after 30 days at ${TENANTS} tenants: ${(bytes / 1_048_576).toFixed(1)} MiB`);
    expect(store.issues('tenant-000')).toHaveLength(90);
    // README "History and storage" states this size; the test keeps it honest.
    expect(bytes).toBeLessThan(6 * 1_048_576);
  });
});
