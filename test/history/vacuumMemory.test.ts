import { join } from 'node:path';
import initSqlJs from 'sql.js';
import { expect, it } from 'vitest';
import { HistoryStore } from '../../src/history/store.js';
import { DAY, T0, observedIssue, silentLogger as logger, tempDirPerTest } from '../helpers/history.js';

// A file of its own: SQLite's heap limit is process-wide and the pragma can only lower it
// (https://www.sqlite.org/pragma.html#pragma_hard_heap_limit), so it would hold for every store opened after it.

const dirOf = tempDirPerTest('m365-vacuum-');

it('keeps SQLite\'s memory, which WebAssembly never gives back, near the database\'s size: a page cache of 2000 KiB, and the journal of a VACUUM outside it', async () => {
  const path = join(dirOf(), 'h.db');
  const store = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, now: () => T0 + 10 });
  for (let n = 0; n < 4_000; n += 500) store.recordIssues('t', Array.from({ length: 500 }, (_, i) => observedIssue(`EX${n + i}`, { title: 'x'.repeat(2_000) })), T0);
  const size = store.byteSize();
  expect(size).toBeGreaterThan(8 * 2 ** 20);
  // SQLite's memory holds its page cache (2000 KiB) and what a VACUUM needs besides its journal: 1.2 times the
  // database's size in all, measured. With the cache counted in a new store's 4 KiB pages (about 470: up to 15 MiB of
  // 32 KiB pages), 2.2 times; with the rollback journal in memory, 2 times; with both, as before, 3 times.
  const SQL = await initSqlJs();
  const limiter = new SQL.Database();
  limiter.exec(`PRAGMA hard_heap_limit = ${Math.round(size * 1.6)}`);
  limiter.close();
  await store.flush(); // the first write compacts
  store.close();
  const reopened = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, now: () => T0 + 10 });
  expect(reopened.issues('t')).toHaveLength(4_000);
  reopened.close();
});
