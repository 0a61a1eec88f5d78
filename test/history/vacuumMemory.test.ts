import { join } from 'node:path';
import initSqlJs from 'sql.js';
import { expect, it } from 'vitest';
import { HistoryStore } from '../../src/history/store.js';
import { DAY, T0, observedIssue, silentLogger as logger, tempDirPerTest } from '../helpers/history.js';

// A file of its own: SQLite's heap limit is process-wide and the pragma can only lower it
// (https://www.sqlite.org/pragma.html#pragma_hard_heap_limit), so it would hold for every store opened after it.

const dirOf = tempDirPerTest('m365-vacuum-');

it('compacts (VACUUM) with the rollback journal outside SQLite\'s memory, which WebAssembly never gives back', async () => {
  const path = join(dirOf(), 'h.db');
  const store = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, now: () => T0 + 10 });
  for (let n = 0; n < 4_000; n += 500) store.recordIssues('t', Array.from({ length: 500 }, (_, i) => observedIssue(`EX${n + i}`, { title: 'x'.repeat(2_000) })), T0);
  const size = store.byteSize();
  expect(size).toBeGreaterThan(8 * 2 ** 20);
  // SQLite's memory holds about the database's size after the writes (its page cache), and a VACUUM builds its
  // compacted copy there too (this build keeps temporary databases in memory): about twice the size, measured 1.9–2.0
  // times; with the rollback journal in memory as well, 2.9–3.0 times.
  const SQL = await initSqlJs();
  const limiter = new SQL.Database();
  limiter.exec(`PRAGMA hard_heap_limit = ${Math.round(size * 2.5)}`);
  limiter.close();
  await store.flush(); // the first write compacts
  store.close();
  const reopened = await HistoryStore.open({ path, retentionMs: 90 * DAY, logger, now: () => T0 + 10 });
  expect(reopened.issues('t')).toHaveLength(4_000);
  reopened.close();
});
