import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const HEAP = new URL('../../dist/runtime/heap.js', import.meta.url).href;

/**
 * In a process of its own (node -e), so the heap it measures holds nothing but what the script made: about 150 MiB
 * of small objects, dropped, then released.
 */
async function releaseAfterGarbage(): Promise<{ before: number; after: number; heldMs: number; exposed: string[] }> {
  const script = `
    const { releasePooledMemory } = await import(${JSON.stringify(HEAP)});
    const { runInNewContext } = await import('node:vm');
    const { Worker } = await import('node:worker_threads');
    let garbage = [];
    for (let i = 0; i < 2e6; i++) garbage.push({ i, text: 'x' + i });
    garbage = null;
    const { heldMs, rssBytesBefore, rssBytesAfter } = releasePooledMemory();
    const inWorker = await new Promise((resolve) => new Worker('require("node:worker_threads").parentPort.postMessage(typeof gc)', { eval: true, execArgv: [] }).once('message', resolve));
    console.log(JSON.stringify({ before: rssBytesBefore, after: rssBytesAfter, heldMs, exposed: [typeof globalThis.gc, runInNewContext('typeof gc'), inWorker] }));
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script]);
  return JSON.parse(stdout) as { before: number; after: number; heldMs: number; exposed: string[] };
}

describe('releasing pooled memory', () => {
  it('collects in one memory-reducing collection and leaves no gc behind: not in this scope, a new context or a worker', async () => {
    const { heldMs, exposed, before, after } = await releaseAfterGarbage();
    expect(heldMs).toBeGreaterThan(0);
    expect(exposed).toEqual(['undefined', 'undefined', 'undefined']);
    // V8's page pool (Node.js 24's V8; deps/v8/src/heap/memory-allocator.cc) held the dropped objects' pages until
    // this collection. Node.js 20's V8 hands freed pages back in a background task after any collection, so there the
    // figures right after it say nothing.
    if (Number(process.versions.node.split('.')[0]) >= 24) expect(before - after).toBeGreaterThan(128 * 2 ** 20);
  });
});
