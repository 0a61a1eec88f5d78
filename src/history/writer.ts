import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { SqlValue } from 'sql.js';

/** One statement as the store ran it, to be run again on the writer's copy. */
export type Statement = readonly [sql: string, params: SqlValue[]];

type Request = { id: number } & ({ kind: 'apply'; statements: Statement[] } | { kind: 'write'; path: string; vacuum: boolean });
type Reply = { id: number; bytes?: number; error?: string };

/**
 * The writer thread's code. Runs in the worker (an `eval` worker, so one source serves both the built code and the
 * tests that run the TypeScript sources), where only `require` and workerData are in scope: nothing of this module.
 * It keeps its own copy of the database, changed by the same statements in the same order as the store's, and
 * writes it: export (a copy of the whole database, 16-24 ms for 25 MB, 30-58 ms in a loaded 500-tenant exporter),
 * compaction (VACUUM, which rewrites the whole database) and the file writes, none of them on the exporter's event loop.
 */
function writerThread(): void {
  const { parentPort, workerData } = require('node:worker_threads') as typeof import('node:worker_threads');
  const { mkdir, rename, rm, writeFile } = require('node:fs/promises') as typeof import('node:fs/promises');
  const { dirname } = require('node:path') as typeof import('node:path');
  const initSqlJs = require((workerData as { sqlJs: string }).sqlJs) as typeof import('sql.js').default;
  const opened = initSqlJs().then((SQL) => new SQL.Database((workerData as { bytes: Uint8Array }).bytes));
  let queue: Promise<unknown> = Promise.resolve();
  parentPort!.on('message', (request: Request) => {
    // One request at a time, in the order sent: a write exports what every statement sent before it made.
    queue = queue.then(async () => {
      const db = await opened;
      const reply: Reply = { id: request.id };
      try {
        if (request.kind === 'apply') {
          db.exec('BEGIN');
          try {
            for (const [sql, params] of request.statements) db.run(sql, params);
            db.exec('COMMIT');
          } catch (error) {
            db.exec('ROLLBACK');
            throw error;
          }
        } else {
          if (request.vacuum) db.exec('VACUUM');
          const bytes = db.export();
          const temporary = `${request.path}.tmp-${process.pid}`;
          try {
            await mkdir(dirname(request.path), { recursive: true });
            await writeFile(temporary, bytes);
            await rename(temporary, request.path);
          } catch (error) {
            await rm(temporary, { force: true }).catch(() => undefined);
            throw error;
          }
          reply.bytes = bytes.length;
        }
      } catch (error) {
        reply.error = (error as Error).message;
      }
      parentPort!.postMessage(reply);
    });
  });
}

/**
 * The store's file writer: a worker thread with a copy of the database, fed every change the store commits. Writing
 * the whole database to the file each flush interval held the event loop for tens of milliseconds at fleet size
 * (README, "Performance"); here the event loop only hands over each transaction's statements.
 */
export class Writer {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (reply: Reply) => void }>();
  #next = 0;
  #failure?: string;

  /** Starts the thread with the database as it is now (its exported bytes). */
  constructor(bytes: Uint8Array) {
    const sqlJs = createRequire(import.meta.url).resolve('sql.js');
    this.#worker = new Worker(`(${writerThread.toString()})()`, { eval: true, workerData: { sqlJs, bytes } });
    // The store's flush timer, not this thread, decides how long the process lives.
    this.#worker.unref();
    this.#worker.on('message', (reply: Reply) => {
      this.#pending.get(reply.id)?.resolve(reply);
      this.#pending.delete(reply.id);
    });
    this.#worker.on('error', (error) => this.#fail(`history writer thread failed: ${error.message}`));
    this.#worker.on('exit', (code) => this.#fail(`history writer thread exited (${code})`));
  }

  /** Why the thread stopped, if it did: the store then starts another from its own copy. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /** Runs one committed transaction's statements on the copy; a copy that refuses one is no copy any more. */
  apply(statements: Statement[]): void {
    if (statements.length === 0 || this.#failure) return;
    void this.#request({ kind: 'apply', statements }).then((reply) => reply.error !== undefined && this.#fail(`history writer's copy refused a change: ${reply.error}`));
  }

  /** Writes the copy to `path` (through a temporary file and a rename), compacted first if asked; the bytes written. */
  async write(path: string, vacuum: boolean): Promise<number> {
    const reply = await this.#request({ kind: 'write', path, vacuum });
    if (reply.error !== undefined) throw new Error(reply.error);
    return reply.bytes!;
  }

  async close(): Promise<void> {
    this.#fail('history writer closed');
    await this.#worker.terminate();
  }

  #fail(reason: string): void {
    this.#failure ??= reason;
    for (const { resolve } of this.#pending.values()) resolve({ id: -1, error: this.#failure });
    this.#pending.clear();
  }

  #request(body: { kind: 'apply'; statements: Statement[] } | { kind: 'write'; path: string; vacuum: boolean }): Promise<Reply> {
    if (this.#failure) return Promise.resolve({ id: -1, error: this.#failure });
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, { resolve });
      this.#worker.postMessage({ id, ...body } satisfies Request);
    });
  }
}
