import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** What a collection of pooled memory held and gave back. */
export interface PooledMemoryRelease {
  /** How long the collection held the event loop. */
  heldMs: number;
  rssBytesBefore: number;
  rssBytesAfter: number;
}

/**
 * A full, memory-reducing garbage collection of this thread's heap: the kind after which V8 gives the operating
 * system back the pages it pooled. V8 (Node.js 24's, the image's) keeps pages its collections free committed in a
 * pool for reuse "until memory reducing GC" (deps/v8/src/heap/memory-allocator.cc, MemoryAllocator::Free,
 * FreeMode::kPool), and its memory reducer starts such a collection only once allocation is slow, which it never is in
 * an exporter refreshing a fleet: so the pool keeps the peak of the fleet's first refreshes resident for good (at 500
 * realistic tenants 36–102 MiB: docs/performance.md). It holds the event loop for as long as it takes (185 ms at
 * 500 tenants), so it runs once, when that peak is over.
 *
 * `gc` comes from a context of its own, as jest-leak-detector takes it, and the flag is unset at once: neither this
 * thread's global scope nor a worker started later gets a `gc`.
 */
export function releasePooledMemory(): PooledMemoryRelease {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
  setFlagsFromString('--no-expose-gc');
  const rssBytesBefore = process.memoryUsage.rss();
  const started = performance.now();
  // "last-resort": the collection V8 runs when memory is short (Isolate::LowMemoryNotification), memory-reducing.
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return { heldMs: performance.now() - started, rssBytesBefore, rssBytesAfter: process.memoryUsage.rss() };
}
