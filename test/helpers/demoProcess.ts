/**
 * Runs `npm run demo`'s program (dist-simulator/demo.js) as a child process on free loopback ports, as a user would,
 * for test/integration/demo*.test.ts. `stop()` sends SIGTERM (what Ctrl-C's SIGINT also does) and returns the exit code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parseExposition, type ParsedSample } from './exposition.js';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

const DEMO = fileURLToPath(new URL('../../dist-simulator/demo.js', import.meta.url));


export interface DemoProcess {
  /** `http://127.0.0.1:PORT` of the exporter and of the demo's landing page. */
  exporterUrl: string;
  pageUrl: string;
  startedAt: number;
  /** The demo's TMPDIR, its own so that what it leaves behind is known (demos of other tests run side by side). */
  tmpdir: string;
  /** stdout and stderr so far. */
  output(): string;
  samples(): Promise<ParsedSample[]>;
  stop(): Promise<number | null>;
}

export async function startDemo(scenario: string, stepMs: number, env: Record<string, string> = {}): Promise<DemoProcess> {
  const exporterListen = `127.0.0.1:${await freePort()}`;
  const pageListen = `127.0.0.1:${await freePort()}`;
  const startedAt = Date.now();
  const demoTmpdir = mkdtempSync(join(tmpdir(), 'm365-demo-test-'));
  const child = spawn(process.execPath, [DEMO, '--scenario', scenario], {
    env: { ...process.env, TMPDIR: demoTmpdir, DEMO_LISTEN: exporterListen, DEMO_PAGE_LISTEN: pageListen, DEMO_STEP_MS: String(stepMs), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return {
    exporterUrl: `http://${exporterListen}`,
    pageUrl: `http://${pageListen}`,
    startedAt,
    tmpdir: demoTmpdir,
    output: () => output,
    samples: async () => parseExposition(await (await fetch(`http://${exporterListen}/metrics`)).text()),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

export interface ScenarioRun {
  /** From spawning the demo until `promise` held on /metrics. */
  shownAfterMs: number;
  /** What the demo printed: from its start until it had seen every signal of its page. */
  allSeenAfterS: number;
  text: string;
  output: string;
}

/**
 * Runs a demo scenario until `promise` holds on the exporter's /metrics (at most a minute), then checks what every
 * scenario shows: the demo saw every signal its page promises, the OTLP receiver printed an export, the landing page
 * answers; and that it stops with exit code 0, leaving no temporary directory and no secret in its output.
 */
export async function runDemoScenario(
  scenario: string,
  stepMs: number,
  promise: (samples: ParsedSample[], text: string) => boolean,
  env: Record<string, string> = {},
  /** More checks while the demo still runs, once `promise` has held. */
  during?: (demo: DemoProcess) => Promise<void>,
): Promise<ScenarioRun> {
  const demo = await startDemo(scenario, stepMs, env);
  let stopped = false;
  try {
    const { text, at } = await waitFor(`the ${scenario} demo to show what it promises`, async () => {
      const text = await (await fetch(`${demo.exporterUrl}/metrics`)).text();
      return promise(parseExposition(text), text) && { text, at: Date.now() };
    }, 60_000 - (Date.now() - demo.startedAt), 250);
    const allSeen = await waitFor(`the demo to print that it saw every signal of ${scenario}`, () => new RegExp(`^demo: all \\d+ signals of ${scenario} seen within (\\d+) s$`, 'm').exec(demo.output()) ?? undefined, 60_000 - (Date.now() - demo.startedAt), 250)
      .catch((error: Error) => {
        // Which signals it saw, and when, and what the scenario did meanwhile: what a failure here needs to be read.
        const progress = demo.output().split('\n').filter((line) => /^demo: |step/i.test(line)).join('\n');
        throw new Error(`${error.message}\n${progress}`);
      });
    expect(demo.output()).toMatch(/^otlp: export \d+ received \(\d+ KiB\): \d+ data points in \d+ metric families; services not operational: (contoso \d+, )?fabrikam \d+;/m);
    const page = await fetch(demo.pageUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(`Demo scenario: ${scenario}`);
    expect(html).toMatch(/<code>m365_[a-z_]+\{tenant=&quot;contoso&quot;/);
    expect(html).toContain('seen after');
    await during?.(demo);
    stopped = true;
    expect(await demo.stop()).toBe(0);
    expect(demo.output()).not.toContain('simulator-secret');
    expect(readdirSync(demo.tmpdir)).toEqual([]);
    return { shownAfterMs: at - demo.startedAt, allSeenAfterS: Number(allSeen[1]), text, output: demo.output() };
  } finally {
    if (!stopped) await demo.stop();
    rmSync(demo.tmpdir, { recursive: true, force: true });
  }
}
