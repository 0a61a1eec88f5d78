import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { History } from '../../src/history/history.js';
import { HistoryStore, type IssueObservation } from '../../src/history/store.js';
import { storeCalls, type AsyncStore } from '../../src/history/storeThread.js';
import { METRICS } from '../../src/model/metrics.js';
import type { SeriesGroup, Tenant, TenantState } from '../../src/runtime/tenant.js';
import { silentLogger, tempDirPerTest } from '../helpers/history.js';

const logger = silentLogger;
const dirOf = tempDirPerTest('m365-history-');

/** The store's calls in this thread: what the worker thread runs, without the thread (see storeThread.test.ts). */
function inThisThread(store: HistoryStore): AsyncStore {
  const calls = storeCalls(store);
  return { call: async (method, ...args) => (calls[method] as (...a: unknown[]) => never)(...args), close: async () => calls.close() };
}

/**
 * What History reads of a tenant, and nothing more: a counter that grows with each read of its state, and a refresh
 * that lands while its state is being saved (as refreshes of a fleet do during a flush).
 */
function refreshingTenant(name: string): Tenant & { refreshed(): void } {
  const listeners: Array<(changed: SeriesGroup[]) => void> = [];
  const refreshed = () => listeners.forEach((listener) => listener([]));
  let requests = 0;
  return {
    name, groups: [], runners: [], refreshed,
    restore: () => undefined,
    onChange: (listener: (changed: SeriesGroup[]) => void) => void listeners.push(listener),
    state: (): TenantState => {
      setImmediate(refreshed);
      return { counters: [{ metric: METRICS.graphRequests, labels: { endpoint: 'issues', code: '200' }, value: ++requests }], snapshots: {} };
    },
  } as unknown as Tenant & { refreshed(): void };
}

describe('history flushes', () => {
  it('writes the file at most once per flushInterval while refreshes land during each flush', async () => {
    const writes: number[] = [];
    const store = await HistoryStore.open({ path: join(dirOf(), 'h.db'), retentionMs: 90 * 86_400_000, logger, onHealth: (_ok, { bytes }) => bytes !== undefined && writes.push(Date.now()) });
    const history = new History(inThisThread(store), { logger, flushIntervalMs: 300, retentionMs: 90 * 86_400_000 });
    const tenants = [refreshingTenant('a'), refreshingTenant('b')];
    for (const tenant of tenants) await history.attach(tenant);
    const started = Date.now();
    tenants.forEach((tenant) => tenant.refreshed());
    await sleep(1_100);
    const during = writes.filter((at) => at >= started).length;
    await history.close();
    // 1.1 s at 300 ms: three or four writes. When a refresh during a flush scheduled the next one from the previous
    // flush's time, flushes ran back to back: 8 writes in this test, two to four whole files a minute at 1000 tenants.
    expect(during).toBeGreaterThanOrEqual(2);
    expect(during).toBeLessThanOrEqual(4);
  });

  it('posts only the issues that are new or changed since the last refresh, and each again when its service id is learnt', async () => {
    const store = await HistoryStore.open({ retentionMs: 90 * 86_400_000, logger });
    const local = inThisThread(store);
    const posted: string[][] = [];
    const spying: AsyncStore = {
      call: (method, ...args) => {
        if (method === 'recordIssues') posted.push((args[1] as readonly IssueObservation[]).map((issue) => `${issue.id}@${issue.serviceId}`));
        return local.call(method, ...args);
      },
      close: () => local.close(),
    };
    const history = new History(spying, { logger, flushIntervalMs: 60_000, retentionMs: 90 * 86_400_000 });
    const issue = (id: string, status: string) => Object.freeze({
      id, serviceName: 'Exchange Online', title: `Mail delayed (${id})`, classification: 'incident', status, origin: 'microsoft',
      featureGroup: 'E-Mail', feature: 'Delivery', isResolved: false, start: 1, end: null, lastModified: 1,
    });
    const listeners: Array<(changed: SeriesGroup[]) => void> = [];
    const snapshots: { health?: unknown; issues?: unknown } = {};
    const tenant = {
      name: 't', groups: [], restore: () => undefined, state: () => ({ counters: [], snapshots: {} }),
      onChange: (listener: (changed: SeriesGroup[]) => void) => void listeners.push(listener),
      runners: [{ name: 'health', get snapshot() { return snapshots.health; } }, { name: 'issues', get snapshot() { return snapshots.issues; } }],
    } as unknown as Tenant;
    await history.attach(tenant);
    const refreshed = (issues: unknown[], health?: unknown) => {
      snapshots.issues = { issues, ids: new Set() };
      if (health) snapshots.health = health;
      listeners.forEach((listener) => listener([{ name: 'issues' } as SeriesGroup]));
    };
    const [a, b] = [issue('EX1', 'investigating'), issue('EX2', 'investigating')];
    refreshed([a, b]);
    refreshed([a, b]);
    const bRestored = issue('EX2', 'serviceRestored');
    refreshed([a, bRestored]);
    refreshed([a, bRestored], { services: [{ id: 'Exchange', name: 'Exchange Online', status: 'serviceOperational' }] });
    await history.close();
    expect(posted).toEqual([
      ['EX1@Exchange Online', 'EX2@Exchange Online'],
      ['EX2@Exchange Online'],
      ['EX1@Exchange', 'EX2@Exchange'],
    ]);
  });
});
