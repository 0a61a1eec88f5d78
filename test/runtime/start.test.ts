import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as ExporterModule from '../../src/exporter.js';
import type * as HistoryModule from '../../src/history/history.js';
import type * as LoadModule from '../../src/config/load.js';
import type * as LoggerModule from '../../src/logger.js';
import type * as SchedulerModule from '../../src/runtime/scheduler.js';
import { tempDirPerTest } from '../helpers/history.js';

// The built modules: the history store's thread runs dist/history/storeWorker.js (see storeThread.test.ts).
const built = async <T>(path: string) => (await import(new URL(`../../dist/${path}`, import.meta.url).href)) as T;
const { Exporter } = await built<typeof ExporterModule>('exporter.js');
const { History } = await built<typeof HistoryModule>('history/history.js');
const { loadConfigFile } = await built<typeof LoadModule>('config/load.js');
const { Logging } = await built<typeof LoggerModule>('logger.js');
const { Scheduler } = await built<typeof SchedulerModule>('runtime/scheduler.js');

const dirOf = tempDirPerTest('m365-start-');

describe('Exporter start', () => {
  afterEach(() => vi.restoreAllMocks());

  it('asks the history store for every tenant\'s saved state before any tenant starts refreshing', async () => {
    // A fleet asked one tenant at a time, each answer waiting behind the refreshes of the tenants started before it,
    // took 9-11 s to listen at 1000 tenants.
    const dir = dirOf();
    const path = join(dir, 'config.yml');
    const tenants = Array.from({ length: 5 }, (_, i) => [
      `  - name: t${i}`,
      `    tenantId: 0d2d1a6e-1111-4c1e-9a7e-00000000020${i}`,
      `    clientId: 5a1c0c8e-2222-4b8e-8f3e-00000000020${i}`,
      '    clientSecret: not-used',
      // A closed port on loopback: refreshes fail at once, nothing leaves the machine.
      '    authorityHost: https://127.0.0.1:9',
      '    graphEndpoint: https://127.0.0.1:9',
    ].join('\n'));
    writeFileSync(path, `listen: 127.0.0.1:0\nstorage:\n  path: ${join(dir, 'history.db')}\ntenants:\n${tenants.join('\n')}\n`);
    const config = loadConfigFile(path);
    const attach = vi.spyOn(History.prototype, 'attach');
    const start = vi.spyOn(Scheduler.prototype, 'start');
    const exporter = new Exporter({ config, logging: new Logging({ sink: { write: () => undefined } }), loadConfig: () => config, maxConnections: 8 });
    try {
      await exporter.start();
      expect(attach).toHaveBeenCalledTimes(5);
      expect(start).toHaveBeenCalledTimes(5);
      expect(Math.max(...attach.mock.invocationCallOrder)).toBeLessThan(Math.min(...start.mock.invocationCallOrder));
    } finally {
      await exporter.stop();
    }
  });
});
