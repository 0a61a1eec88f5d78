import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import initSqlJs, { type Database, type SqlValue } from 'sql.js';
import { intern } from '../collectors/intern.js';
import type { Labels } from '../collectors/types.js';

/**
 * The embedded store: SQLite compiled to WebAssembly (sql.js), so no native addon has to be built per Node.js version
 * (.ci/run refuses those). The database lives in memory and is written whole to the file, through a temporary file
 * and a rename, so a crash mid-write leaves the previous file intact (rename(2) replaces atomically on one file
 * system). It holds what Graph cannot give back: issues seen and their status transitions, service status
 * transitions, the live counters and the collectors' read positions.
 */

/** An issue as observed, with every status, classification or resolution change the exporter saw. */
export interface StoredIssue {
  id: string;
  serviceId: string;
  serviceName: string;
  classification: string;
  status: string;
  origin: string;
  featureGroup: string;
  feature: string;
  title: string;
  isResolved: boolean;
  /** Milliseconds since the epoch, as Graph gave them. */
  start: number;
  end: number | null;
  lastModified: number;
  /** When the exporter first saw the issue. */
  firstSeen: number;
  /** Oldest first; the first one is the state the issue had when first seen. */
  transitions: IssueTransition[];
}

export interface IssueTransition {
  at: number;
  status: string;
  classification: string;
  isResolved: boolean;
}

export type IssueObservation = Omit<StoredIssue, 'firstSeen' | 'transitions'>;

/** A service status as first observed, or a change of it. */
export interface ServiceTransition {
  serviceId: string;
  at: number;
  status: string;
}

/** One saved counter series; `metric` is the family name. */
export interface StoredCounter {
  metric: string;
  labels: Labels;
  value: number;
}

/** What a tenant needs to continue after a restart: counters, and each collector's read position (JSON). */
export interface StoredTenantState {
  counters: StoredCounter[];
  positions: Record<string, unknown>;
}

/**
 * Schema migrations in order: migration i brings the schema from version i to i + 1. A release only appends; a store
 * written by a newer release (a higher version than this list knows) is not touched (see `open`).
 */
const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [
  (db) => db.exec(`
    CREATE TABLE issues (
      tenant TEXT NOT NULL, id TEXT NOT NULL, service_id TEXT NOT NULL, service_name TEXT NOT NULL,
      classification TEXT NOT NULL, status TEXT NOT NULL, origin TEXT NOT NULL, feature_group TEXT NOT NULL,
      feature TEXT NOT NULL, title TEXT NOT NULL, is_resolved INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER,
      last_modified INTEGER NOT NULL, first_seen INTEGER NOT NULL,
      PRIMARY KEY (tenant, id)
    ) WITHOUT ROWID;
    CREATE TABLE issue_transitions (
      tenant TEXT NOT NULL, issue_id TEXT NOT NULL, at INTEGER NOT NULL, status TEXT NOT NULL,
      classification TEXT NOT NULL, is_resolved INTEGER NOT NULL
    );
    CREATE INDEX issue_transitions_by_issue ON issue_transitions (tenant, issue_id, at);
    CREATE TABLE service_transitions (tenant TEXT NOT NULL, service_id TEXT NOT NULL, at INTEGER NOT NULL, status TEXT NOT NULL);
    CREATE INDEX service_transitions_by_service ON service_transitions (tenant, service_id, at);
    -- One JSON array per tenant: hundreds of series, always read and written together.
    CREATE TABLE counters (tenant TEXT NOT NULL PRIMARY KEY, series TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE positions (tenant TEXT NOT NULL, collector TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (tenant, collector)) WITHOUT ROWID;
  `),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export interface StoreOptions {
  /** The file; undefined keeps the store in memory only (`storage.enabled: false`). */
  path?: string;
  /** Issues and transitions older than this are pruned. */
  retentionMs: number;
  /** Where a file that cannot be read or written is reported (the main thread's logger, or messages to it). */
  logger: { error(fields: Record<string, unknown>, message: string): void };
  /** Milliseconds since the epoch. @default Date.now */
  now?: () => number;
  /** Told after every load or write: whether it worked, and the bytes written. */
  onHealth?: (healthy: boolean, event: { writeFailed?: boolean; bytes?: number }) => void;
}

type SqlJs = Awaited<ReturnType<typeof initSqlJs>>;
let sqlJs: Promise<SqlJs> | undefined;

/** The key of a tenant's counters among its saved rows (not a collector name: those are identifiers). */
const COUNTERS_ROW = ' counters';

export const PAGE_SIZE = 32_768;

/** How often a write prunes and compacts the database first. */
const VACUUM_EVERY_MS = 3_600_000;

export class HistoryStore {
  #db: Database;
  #dirty = false;
  /** When the database was last pruned and compacted (VACUUM); 0: at the first write. */
  #lastVacuum = 0;
  #writing: Promise<void> = Promise.resolve();
  readonly #options: StoreOptions;
  readonly #now: () => number;
  /** Per tenant: the last status of each service and the last state of each issue, to write only changes. */
  readonly #lastService = new Map<string, Map<string, string>>();
  readonly #lastIssue = new Map<string, Map<string, IssueState>>();
  /** Per tenant: the JSON this store last wrote for its counters (COUNTERS_ROW) and for each collector's position. */
  readonly #saved = new Map<string, Map<string, string>>();

  private constructor(db: Database, options: StoreOptions) {
    this.#db = db;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#loadLastStates();
  }

  /**
   * Opens the file, or starts empty when there is none. Never throws for the file: a store that cannot be read or is
   * not a database is moved aside to `<path>.corrupt` (for a post-mortem), reported, and replaced by an empty one,
   * which Graph refills as far as it remembers.
   */
  static async open(options: StoreOptions): Promise<HistoryStore> {
    const SQL = await (sqlJs ??= initSqlJs());
    let db: Database | undefined;
    if (options.path !== undefined) {
      try {
        const bytes = readFileSync(options.path);
        db = new SQL.Database(bytes);
        migrate(db);
        options.onHealth?.(true, { bytes: bytes.length });
      } catch (error) {
        db?.close();
        db = undefined;
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          options.onHealth?.(true, {});
        } else {
          const aside = `${options.path}.corrupt`;
          const moved = await rename(options.path, aside).then(() => true, () => false);
          options.logger.error({ path: options.path, err: (error as Error).message, movedTo: moved ? aside : undefined },
            'history store unreadable; starting an empty one (issues come back from Graph as far as it remembers; counters restart)');
          options.onHealth?.(false, {});
        }
      }
    }
    db ??= new SQL.Database();
    // The rollback journal in SQLite's memory, not a file: the database itself lives in memory (Emscripten's file
    // system), where a journal file only adds copies (saving 1000 tenants' counters: 54 ms with it, 15 without); a
    // rollback still works, and a crash loses the memory either way (the file on disk is written whole).
    // Pages of 32 KiB instead of 4: exporting a 1000-tenant store took 34–37 ms against 27–32, its issue queries 29
    // against 11 ms, and it is 11 % smaller. A new store starts with them; an older one is converted by the first
    // write's VACUUM (a page size changes only then: https://www.sqlite.org/pragma.html#pragma_page_size).
    // The page cache set again to SQLite's default, 2000 KiB: a new store had it counted in 4 KiB pages, about 470,
    // which held 15 MiB once pages were 32 KiB, in WebAssembly memory, which never shrinks; the pages it caches are in
    // memory anyway (https://www.sqlite.org/pragma.html#pragma_cache_size).
    db.exec(`PRAGMA journal_mode = MEMORY; PRAGMA page_size = ${PAGE_SIZE}; PRAGMA cache_size = -2000`);
    migrate(db);
    return new HistoryStore(db, options);
  }

  get path(): string | undefined {
    return this.#options.path;
  }

  /** Records the services' statuses: a transition for each one seen for the first time or changed. */
  recordServiceStatuses(tenant: string, services: ReadonlyArray<{ id: string; status: string }>, at = this.#now()): void {
    this.#inOneTransaction(() => this.#recordServiceStatuses(tenant, services, at));
  }

  #recordServiceStatuses(tenant: string, services: ReadonlyArray<{ id: string; status: string }>, at: number): void {
    const last = mapOf(this.#lastService, tenant);
    for (const { id, status } of services) {
      if (last.get(id) === status) continue;
      last.set(id, status);
      this.#db.run('INSERT INTO service_transitions VALUES (?, ?, ?, ?)', [tenant, id, at, status]);
      this.#dirty = true;
    }
  }

  /** Records issues as Graph returned them: new ones, and a transition when status, classification or resolution changed. */
  recordIssues(tenant: string, issues: readonly IssueObservation[], at = this.#now()): void {
    this.#inOneTransaction(() => this.#recordIssues(tenant, issues, at));
  }

  #recordIssues(tenant: string, issues: readonly IssueObservation[], at: number): void {
    const last = mapOf(this.#lastIssue, tenant);
    for (const issue of issues) {
      const state = issueState(issue);
      const previous = last.get(issue.id);
      if (previous?.transition === state.transition && previous.digest === state.digest) continue;
      last.set(issue.id, state);
      this.#db.run(`INSERT INTO issues VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (tenant, id) DO UPDATE SET service_id = excluded.service_id, service_name = excluded.service_name,
          classification = excluded.classification, status = excluded.status, origin = excluded.origin,
          feature_group = excluded.feature_group, feature = excluded.feature, title = excluded.title,
          is_resolved = excluded.is_resolved, start = excluded.start, "end" = excluded."end", last_modified = excluded.last_modified`, [
        tenant, issue.id, issue.serviceId, issue.serviceName, issue.classification, issue.status, issue.origin, issue.featureGroup,
        issue.feature, issue.title, issue.isResolved ? 1 : 0, issue.start, issue.end, issue.lastModified, at,
      ]);
      if (previous?.transition !== state.transition) {
        this.#db.run('INSERT INTO issue_transitions VALUES (?, ?, ?, ?, ?, ?)', [tenant, issue.id, at, issue.status, issue.classification, issue.isResolved ? 1 : 0]);
      }
      this.#dirty = true;
    }
  }

  /**
   * Replaces the tenant's saved counters and read positions, writing only the rows that differ from what this store
   * last saved for it: most flushes of a fleet find a tenant's issue ids and statuses as they were, and every row
   * written is pages copied into SQLite's journal.
   */
  saveState(tenant: string, state: StoredTenantState): void {
    const saved = this.#saved.get(tenant) ?? new Map<string, string>();
    const rows = new Map(Object.entries(state.positions).map(([collector, position]) => [collector, JSON.stringify(position)]));
    const counters = JSON.stringify(state.counters);
    const writes: Array<[sql: string, params: SqlValue[]]> = [];
    if (saved.get(COUNTERS_ROW) !== counters) writes.push(['INSERT OR REPLACE INTO counters VALUES (?, ?)', [tenant, counters]]);
    for (const collector of saved.keys()) {
      if (collector !== COUNTERS_ROW && !rows.has(collector)) writes.push(['DELETE FROM positions WHERE tenant = ? AND collector = ?', [tenant, collector]]);
    }
    for (const [collector, json] of rows) {
      if (saved.get(collector) !== json) writes.push(['INSERT OR REPLACE INTO positions VALUES (?, ?, ?)', [tenant, collector, json]]);
    }
    if (writes.length === 0) return;
    this.#inOneTransaction(() => writes.forEach(([sql, params]) => this.#db.run(sql, params)));
    this.#saved.set(tenant, new Map([[COUNTERS_ROW, counters], ...rows]));
    this.#dirty = true;
  }

  /**
   * The rows one call writes, as one transaction: SQLite otherwise commits (journal and pages) after each row, and a
   * tenant's first refresh writes a hundred issues.
   */
  #inOneTransaction(work: () => void): void {
    this.#db.exec('BEGIN');
    try {
      work();
      this.#db.exec('COMMIT');
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  loadState(tenant: string): StoredTenantState {
    return {
      counters: this.#rows('SELECT series FROM counters WHERE tenant = ?', [tenant]).flatMap(([series]) => JSON.parse(String(series)) as StoredCounter[]),
      positions: Object.fromEntries(this.#rows('SELECT collector, state FROM positions WHERE tenant = ?', [tenant])
        .map(([collector, state]) => [String(collector), JSON.parse(String(state)) as unknown])),
    };
  }

  /** The tenant's issues that touched [since, now], with their transitions: for history, feeds and legacy shapes. */
  issues(tenant: string, since = 0): StoredIssue[] {
    const byId = new Map<string, StoredIssue>();
    for (const row of this.#rows(`SELECT id, service_id, service_name, classification, status, origin, feature_group, feature, title,
        is_resolved, start, "end", last_modified, first_seen FROM issues WHERE tenant = ? AND ("end" IS NULL OR "end" >= ?) ORDER BY start, id`, [tenant, since])) {
      const [id, serviceId, serviceName, classification, status, origin, featureGroup, feature, title, isResolved, start, end, lastModified, firstSeen] = row;
      byId.set(String(id), {
        id: String(id), serviceId: String(serviceId), serviceName: String(serviceName), classification: String(classification),
        status: String(status), origin: String(origin), featureGroup: String(featureGroup), feature: String(feature), title: String(title),
        isResolved: isResolved === 1, start: Number(start), end: end === null ? null : Number(end), lastModified: Number(lastModified),
        firstSeen: Number(firstSeen), transitions: [],
      });
    }
    for (const [issueId, at, status, classification, isResolved] of this.#rows(
      'SELECT issue_id, at, status, classification, is_resolved FROM issue_transitions WHERE tenant = ? ORDER BY at', [tenant])) {
      byId.get(String(issueId))?.transitions.push({ at: Number(at), status: String(status), classification: String(classification), isResolved: isResolved === 1 });
    }
    return [...byId.values()];
  }

  /**
   * The tenant's service status transitions from `since` on, oldest first, plus for each service the last one before
   * `since` (the status in force when the period began).
   */
  serviceTransitions(tenant: string, since = 0): ServiceTransition[] {
    return this.#rows(`SELECT service_id, at, status FROM service_transitions t WHERE tenant = ?1 AND (at >= ?2 OR at = (
        SELECT MAX(at) FROM service_transitions p WHERE p.tenant = t.tenant AND p.service_id = t.service_id AND p.at < ?2)) ORDER BY at`, [tenant, since])
      .map(([serviceId, at, status]) => ({ serviceId: String(serviceId), at: Number(at), status: String(status) }));
  }

  /**
   * Drops issues ended before the retention and transitions older than it, keeping each service's last transition
   * (the status still in force). Counters and positions are current state, never pruned.
   */
  prune(now = this.#now()): void {
    const cutoff = now - this.#options.retentionMs;
    for (const [tenant, id] of this.#rows('SELECT tenant, id FROM issues WHERE "end" IS NOT NULL AND "end" < ?', [cutoff])) {
      this.#lastIssue.get(String(tenant))?.delete(String(id));
    }
    this.#db.run('DELETE FROM issues WHERE "end" IS NOT NULL AND "end" < ?', [cutoff]);
    this.#db.run('DELETE FROM issue_transitions WHERE NOT EXISTS (SELECT 1 FROM issues i WHERE i.tenant = issue_transitions.tenant AND i.id = issue_transitions.issue_id)');
    this.#db.run(`DELETE FROM service_transitions WHERE at < ?1 AND at < (
      SELECT MAX(at) FROM service_transitions l WHERE l.tenant = service_transitions.tenant AND l.service_id = service_transitions.service_id)`, [cutoff]);
    this.#dirty = true;
  }

  /**
   * Writes the database to the file if anything changed: pruned, exported, written to a temporary file beside it and
   * renamed over it. One write at a time. A failure is reported, never thrown: the exporter runs on from memory and
   * the next flush tries again.
   */
  flush(): Promise<void> {
    this.#writing = this.#writing.then(() => this.#write());
    return this.#writing;
  }

  /** The size the database would have on disk now (for the size test). */
  byteSize(): number {
    const bytes = this.#db.export();
    const { length } = bytes;
    release(bytes);
    return length;
  }

  async #write(): Promise<void> {
    const path = this.#options.path;
    if (!this.#dirty || path === undefined) return;
    // Pruning scans every issue and transition (65–80 ms at 500 tenants) and the retention is
    // counted in days; replaced counter rows leave free pages behind, and compacting rewrites the whole database. Both
    // run at most hourly, not at every write.
    if (this.#now() - this.#lastVacuum >= VACUUM_EVERY_MS) {
      this.prune();
      // A VACUUM's rollback journal holds every page of the database: in SQLite's memory, that much more WebAssembly
      // memory, which never shrinks (a 40 MB store's VACUUM needed 56 MiB of SQLite's memory, 18 with a journal file).
      // A journal file in Emscripten's file system is JavaScript memory, collected once deleted.
      this.#db.exec('PRAGMA journal_mode = DELETE');
      try {
        this.#db.exec('VACUUM');
      } finally {
        this.#db.exec('PRAGMA journal_mode = MEMORY');
      }
      this.#lastVacuum = this.#now();
    }
    this.#dirty = false;
    const bytes = this.#db.export();
    const temporary = `${path}.tmp-${process.pid}`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(temporary, bytes);
      await rename(temporary, path);
      this.#options.onHealth?.(true, { bytes: bytes.length });
    } catch (error) {
      this.#dirty = true;
      await rm(temporary, { force: true }).catch(() => undefined);
      this.#options.logger.error({ path, err: (error as Error).message }, 'history store not written; keeping it in memory and trying again at the next flush');
      this.#options.onHealth?.(false, { writeFailed: true });
    } finally {
      release(bytes);
    }
  }

  close(): void {
    this.#db.close();
  }

  #rows(sql: string, params: SqlValue[]): SqlValue[][] {
    return this.#db.exec(sql, params)[0]?.values ?? [];
  }

  #loadLastStates(): void {
    for (const [tenant, serviceId, status] of this.#rows(`SELECT tenant, service_id, status FROM service_transitions t
        WHERE at = (SELECT MAX(at) FROM service_transitions l WHERE l.tenant = t.tenant AND l.service_id = t.service_id)`, [])) {
      mapOf(this.#lastService, String(tenant)).set(String(serviceId), intern(String(status)));
    }
    for (const [tenant, id, serviceId, serviceName, classification, status, origin, featureGroup, feature, title, isResolved, start, end, lastModified] of this.#rows(
      `SELECT tenant, id, service_id, service_name, classification, status, origin, feature_group, feature, title, is_resolved, start, "end", last_modified FROM issues`, [])) {
      mapOf(this.#lastIssue, String(tenant)).set(String(id), issueState({
        id: String(id), serviceId: String(serviceId), serviceName: String(serviceName), classification: String(classification), status: String(status),
        origin: String(origin), featureGroup: String(featureGroup), feature: String(feature), title: String(title), isResolved: isResolved === 1,
        start: Number(start), end: end === null ? null : Number(end), lastModified: Number(lastModified),
      }));
    }
  }
}

/**
 * What `recordIssues` compares with: status, classification and resolution (a change of them is a transition), and a
 * digest of everything else stored. A digest, not the fields: a fleet has tens of thousands of issues, whose texts
 * the database already holds.
 */
interface IssueState {
  transition: string;
  digest: string;
}

function issueState(issue: IssueObservation): IssueState {
  return {
    transition: intern(`${issue.status}\u0000${issue.classification}\u0000${issue.isResolved}`),
    digest: createHash('sha1').update([issue.serviceId, issue.serviceName, issue.origin, issue.featureGroup, issue.feature, issue.title,
      issue.start, issue.end, issue.lastModified].join('\u0000')).digest('base64'),
  };
}

/**
 * Frees an export of the database now, not at the thread's next full garbage collection: the copy (20 MiB at 500
 * tenants, one a minute) is memory outside V8's heap, which V8 collects for only once such memory has grown by 64 MiB:
 * a scratch run of sql.js exporting a 21 MiB database held two to six dead copies (docs/performance.md). `ArrayBuffer.prototype.transfer(0)` (ES2024;
 * Node.js 21 and later, so the runtime image's 24) detaches the buffer and frees its memory at once; on Node.js 20 the
 * copy waits for the collector, as before.
 */
export function release(bytes: Uint8Array): void {
  // Only a buffer of its own: a view of a larger one (WebAssembly memory) is not the export's to free.
  if (bytes.byteOffset !== 0 || bytes.byteLength !== bytes.buffer.byteLength) return;
  (bytes.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer }).transfer?.(0);
}

function mapOf<V>(maps: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let map = maps.get(key);
  if (!map) maps.set(key, (map = new Map()));
  return map;
}

/** Applies the migrations the database has not had yet, each in a transaction with its version bump. */
function migrate(db: Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const current = Number(db.exec('SELECT MAX(version) FROM schema_version')[0]?.values[0]?.[0] ?? 0);
  if (current > MIGRATIONS.length) {
    throw new Error(`schema version ${current} is newer than this release knows (${MIGRATIONS.length}); written by a later release`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.exec('BEGIN');
    MIGRATIONS[version]!(db);
    db.run('INSERT INTO schema_version VALUES (?)', [version + 1]);
    db.exec('COMMIT');
  }
}
