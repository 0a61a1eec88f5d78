#!/usr/bin/env node
/**
 * `npm run demo`: a simulated tenant pair running the incident-lifecycle scenario in a loop, and the real exporter
 * (the repository's dist/cli.js, as a child process that trusts the simulator's CA through NODE_EXTRA_CA_CERTS)
 * pointed at it. Runs from dist-simulator/, the simulator's own build.
 *   DEMO_LISTEN=127.0.0.1:9877 (default)  DEMO_STEP_MS=10000 (scenario step)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { runScenario, startSimulator } from './index.js';

const DEMO_CLIENT_SECRET = 'simulator-secret'; // a documented demo value, not a secret
const TENANTS = [
  { name: 'contoso', tenantId: '5e1f0000-0000-4000-8000-000000000001', clientId: 'c11e0000-0000-4000-8000-000000000001' },
  { name: 'fabrikam', tenantId: '5e1f0000-0000-4000-8000-000000000002', clientId: 'c11e0000-0000-4000-8000-000000000002' },
];

async function main(): Promise<void> {
  const listen = process.env.DEMO_LISTEN ?? '127.0.0.1:9877';
  const stepMs = Number(process.env.DEMO_STEP_MS ?? 10_000);
  const sim = await startSimulator({ tenants: TENANTS.map((t) => ({ ...t, clientSecret: DEMO_CLIENT_SECRET })) });
  const abort = new AbortController();
  const scenarios = TENANTS.map((t, i) =>
    runScenario(sim, t.tenantId, 'incident-lifecycle', { stepMs: stepMs * (i + 1), loop: true, signal: abort.signal }));

  const dir = mkdtempSync(join(tmpdir(), 'm365-demo-'));
  writeFileSync(join(dir, 'ca.pem'), sim.caCertPem);
  writeFileSync(join(dir, 'config.yml'), stringify({
    refresh: { health: '10s', issues: '10s', messages: '30s' },
    tenants: TENANTS.map((t) => ({ ...t, clientSecret: DEMO_CLIENT_SECRET, authorityHost: sim.url, graphEndpoint: sim.url })),
  }));
  // dist-simulator/demo.js → <repo>/dist/cli.js: the exporter as built by `npm run build`.
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  const exporter = spawn(process.execPath, [cli, '--config', join(dir, 'config.yml'), '--listen', listen], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
    stdio: 'inherit',
  });
  const exited = new Promise<void>((resolve) => exporter.once('exit', () => resolve()));

  const base = `http://${listen.startsWith(':') ? `localhost${listen}` : listen}`;
  process.stdout.write(`
Simulated Microsoft Graph tenants: ${sim.url}  (scenario "incident-lifecycle", a step every ${stepMs / 1000}s)
Exporter:                          ${base}/
  all tenants                      ${base}/metrics
  one tenant                       ${base}/probe?tenant=contoso
Try:  curl -s ${base}/metrics | grep -E '^m365_service_issues_open.* [1-9]|^m365_service_operational.* 0$'
Ctrl-C stops both.

`);

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    abort.abort();
    if (exporter.exitCode === null && exporter.signalCode === null) exporter.kill('SIGTERM');
    // The exporter reads the config and CA from the temporary directory: remove it only once the exporter is gone.
    await exited;
    await Promise.allSettled(scenarios);
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  };
  exporter.once('exit', (code) => void stop(code ?? 1));
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`);
  process.exit(1);
});
