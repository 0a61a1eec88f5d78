/**
 * The history store's thread (started by ./storeThread.ts): opens the store, answers each call in the order it came,
 * and posts the store's health and errors to the main thread, whose logger scrubs and formats them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HistoryStore } from './store.js';
import { storeCalls, type StoreCall, type StoreWorkerData, type StoreWorkerMessage } from './storeThread.js';

const port = parentPort!;
const post = (message: StoreWorkerMessage) => port.postMessage(message);
const { path, retentionMs } = workerData as StoreWorkerData;

const store = await HistoryStore.open({
  path, retentionMs,
  logger: { error: (fields: Record<string, unknown>, message: string) => post({ log: { message, fields } }) },
  onHealth: (ok, event) => post({ health: { ok, ...event } }),
});
const calls = storeCalls(store);

port.on('message', async ({ id, method, args }: { id: number; method: StoreCall; args: unknown[] }) => {
  try {
    const result: unknown = await (calls[method] as (...a: unknown[]) => unknown)(...args);
    post({ id, result });
  } catch (error) {
    post({ id, error: (error as Error).message });
  }
});
post({ opened: true });
