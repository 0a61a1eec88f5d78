import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BUILD_INFO, METRICS, OTLP_EXPORTS } from '../../src/model/metrics.js';
import { familyNames } from '../helpers/exposition.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';

const DEMO = fileURLToPath(new URL('../../dist-simulator/demo.js', import.meta.url));
const demoTempDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('m365-demo-'));

describe('npm run demo', () => {
  it('starts the simulator and the exporter, and /metrics shows every metric family', async () => {
    const tempDirsBefore = demoTempDirs();
    const listen = `127.0.0.1:${await freePort()}`;
    const demo = spawn(process.execPath, [DEMO], { env: { ...process.env, DEMO_LISTEN: listen, DEMO_STEP_MS: '500' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    demo.stdout.on('data', (c: Buffer) => (output += c.toString()));
    demo.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((resolve) => demo.once('exit', resolve));
    try {
      const text = await waitFor('the demo exporter to serve incidents', async () => {
        const body = await (await fetch(`http://${listen}/metrics`)).text();
        return /m365_service_issues_open\{[^}]*classification="incident"[^}]*\} [1-9]/.test(body) && body;
      }, 30_000, 250);
      expect(output).toContain(`http://${listen}/metrics`);
      const families = familyNames(text);
      for (const def of [...Object.values(METRICS), BUILD_INFO, OTLP_EXPORTS]) expect(families).toContain(def.name);
      expect(output).not.toContain('simulator-secret');
    } finally {
      demo.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(demoTempDirs()).toEqual(tempDirsBefore);
    }
  });
});
