#!/usr/bin/env node
/**
 * `npm run demo [-- --scenario NAME]`: every capability of the exporter against two simulated tenants. It starts
 * the simulator playing the scenario (demo/scenarios.ts), an OTLP receiver that prints a line per export
 * (demo/otlpReceiver.ts), the real exporter (the repository's dist/cli.js, as a child process that trusts the
 * simulator's CA through NODE_EXTRA_CA_CERTS) with the Monitoring API and OTLP push on, and a landing page saying what
 * to look for (demo/page.ts), which the demo checks against the exporter's /metrics. Runs from dist-simulator/.
 *
 *   --scenario NAME or DEMO_SCENARIO        default incident-lifecycle
 *   DEMO_LISTEN=127.0.0.1:9877              the exporter
 *   DEMO_PAGE_LISTEN=127.0.0.1:9878         the landing page
 *   DEMO_SIMULATOR_PORT=0                   the simulator (0: any free port)
 *   DEMO_STEP_MS=30000                      scenario step; the exporter refreshes health and issues every half step (1-15 s)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { runScenario, startSimulator } from './index.js';
import { formatLogLine } from './demo/logLine.js';
import { startDemoOtlpReceiver } from './demo/otlpReceiver.js';
import { renderText, startDemoPage, type DemoView, type SignalStatus } from './demo/page.js';
import { COMMON_SIGNALS, DEFAULT_SCENARIO, DEMO_SCENARIOS, DEMO_TENANTS, DEMO_USERS, type DemoScenario } from './demo/scenarios.js';
import { holds, parseExposition, shown } from './demo/signals.js';

const DEMO_CLIENT_SECRET = 'simulator-secret'; // a documented demo value, not a secret
/** Late Monitoring API data settles within a minute here (20 minutes and more on the real API); the exporter waits 2. */
const SIMULATOR_SETTLE_SECONDS = 60;

class UsageError extends Error {}

function options() {
  const { values } = parseArgs({ options: { scenario: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  const scenario = values.scenario ?? process.env.DEMO_SCENARIO ?? DEFAULT_SCENARIO;
  const known = Object.keys(DEMO_SCENARIOS);
  if (values.help) {
    process.stdout.write(`Usage: npm run demo -- [--scenario NAME]\n${known.map((n) => `  ${n.padEnd(20)} ${DEMO_SCENARIOS[n]!.summary}`).join('\n')}\n`);
    process.exit(0);
  }
  if (!DEMO_SCENARIOS[scenario]) throw new UsageError(`unknown scenario '${scenario}'; known: ${known.join(', ')}`);
  const integer = (name: string, fallback: number, min: number, max: number) => {
    const raw = process.env[name];
    const n = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got '${raw}'`);
    return n;
  };
  return {
    scenario,
    listen: process.env.DEMO_LISTEN || '127.0.0.1:9877',
    pageListen: process.env.DEMO_PAGE_LISTEN || '127.0.0.1:9878',
    simulatorPort: integer('DEMO_SIMULATOR_PORT', 0, 0, 65_535),
    stepMs: integer('DEMO_STEP_MS', 30_000, 100, 3_600_000),
  };
}

/** `host:port` or `:port` as a URL base a browser can open. */
function httpBase(listen: string): string {
  return `http://${listen.startsWith(':') ? `127.0.0.1${listen}` : listen}`;
}

/**
 * The environment without what would send the exporter elsewhere than the demo's loopback servers: a proxy (README
 * "Outbound proxy") or OTEL_* settings of the user's own OpenTelemetry setup.
 */
function loopbackEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^(https?|no)_proxy$/i.test(name) && !name.startsWith('OTEL_')));
}

/** Plain objects merged key by key, `over` winning. */
function merge(base: Record<string, unknown>, over: Record<string, unknown> = {}): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const under = out[key];
    const bothObjects = [value, under].every((v) => typeof v === 'object' && v !== null && !Array.isArray(v));
    out[key] = bothObjects ? merge(under as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return out;
}

/** Health and issues every half step (1-15 s: two tenants stay within Graph's 800 requests an hour); the rest slower. */
function exporterSettings(definition: DemoScenario, stepMs: number, otlpEndpoint: string): Record<string, unknown> {
  const refreshSeconds = Math.min(15, Math.max(1, Math.round(stepMs / 2_000)));
  return merge({
    refresh: { health: `${refreshSeconds}s`, issues: `${refreshSeconds}s`, messages: '30s', serviceActivity: '30s' },
    serviceActivity: { settleDelay: `${2 * SIMULATOR_SETTLE_SECONDS}s`, requestsPerMinute: 120 },
    otlp: { endpoint: otlpEndpoint, protocol: 'http/json', interval: `${Math.min(15, Math.max(5, refreshSeconds))}s` },
  }, definition.config);
}

/** Resolves when the exporter answers /-/ready with 200, or after READY_WAIT_MS at most. */
async function readiness(url: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + READY_WAIT_MS;
  while (Date.now() < deadline && !signal.aborted) {
    if (await fetch(url, { signal, redirect: 'error' }).then(async (response) => (await response.arrayBuffer(), response.ok), () => false)) return;
    await sleep(250, undefined, { signal }).catch(() => undefined);
  }
}

/** The exporter is ready once every collector of both tenants has tried once: a second or two, longer under load. */
const READY_WAIT_MS = 30_000;

async function main(): Promise<void> {
  const startedAt = Date.now();
  const { scenario, listen, pageListen, simulatorPort, stepMs } = options();
  const definition = DEMO_SCENARIOS[scenario]!;
  const say = (line: string) => process.stdout.write(`${line}\n`);

  // Whatever was started is stopped in reverse order, on Ctrl-C, on a failed start, or when the exporter exits.
  const cleanups: Array<() => unknown> = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
    process.exit(code);
  };
  process.once('SIGINT', () => void stop(0));
  process.once('SIGTERM', () => void stop(0));

  try {
    const sim = await startSimulator({
      port: simulatorPort,
      tenants: DEMO_TENANTS.map((t) => ({ tenantId: t.tenantId, clientId: t.clientId, clientSecret: DEMO_CLIENT_SECRET, users: DEMO_USERS })),
      serviceActivitySettleSeconds: SIMULATOR_SETTLE_SECONDS,
    });
    cleanups.push(() => sim.stop());
    const receiver = await startDemoOtlpReceiver(say);
    cleanups.push(() => receiver.stop());

    const settings = exporterSettings(definition, stepMs, receiver.endpoint);
    const signals: SignalStatus[] = [...definition.signals, ...COMMON_SIGNALS].map((signal) => ({ signal, holds: false, values: [] }));
    const steps = new Map<string, string>();
    const exporterUrl = httpBase(listen);
    const pageUrl = httpBase(pageListen);
    const view = (): DemoView => ({
      scenario,
      definition,
      stepMs,
      urls: { exporter: exporterUrl, simulator: sim.url, otlp: receiver.endpoint, page: pageUrl },
      steps,
      signals,
      config: `${stringify(settings)}tenants: [contoso, fabrikam]   # each with serviceActivity: [all]; credentials not shown\n`,
    });
    const split = pageListen.lastIndexOf(':');
    const page = await startDemoPage(pageListen.slice(0, split) || '127.0.0.1', Number(pageListen.slice(split + 1)), view);
    cleanups.push(() => new Promise((resolve) => {
      page.close(resolve);
      page.closeAllConnections();
    }));

    const abort = new AbortController();
    // The scenarios start now, so the exporter's first refresh already sees their first step, which lasts until the
    // exporter is ready: on a loaded machine its start can take longer than a step, and it would miss the beginning.
    // Asked from now on: until the exporter, started below, listens, the answer is a refused connection.
    const exporterReady = readiness(`${exporterUrl}/-/ready`, abort.signal);
    const plays = definition.plays.map(({ tenant, scenario: played, stepFactor = 1 }) => {
      const { tenantId } = DEMO_TENANTS.find((t) => t.name === tenant)!;
      return runScenario(sim, tenantId, played, {
        stepMs: stepMs * stepFactor,
        loop: true,
        signal: abort.signal,
        firstStepUntil: exporterReady,
        onStep: (step) => {
          steps.set(tenant, step.name);
          say(`demo: ${tenant}: ${step.name}`);
        },
      });
    });
    cleanups.push(() => Promise.allSettled(plays), () => abort.abort());

    const dir = mkdtempSync(join(tmpdir(), 'm365-demo-'));
    // Removed once the exporter has exited (cleanups run in reverse): it reads its config and CA from here.
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'ca.pem'), sim.caCertPem);
    writeFileSync(join(dir, 'config.yml'), stringify({
      ...settings,
      // The history store of this run only: a demo starts from a clean slate and leaves nothing behind.
      storage: { path: join(dir, 'history.db') },
      tenants: DEMO_TENANTS.map((t) => ({
        name: t.name,
        tenantId: t.tenantId,
        clientId: t.clientId,
        clientSecret: DEMO_CLIENT_SECRET,
        // Declared so the credential-expiry panels and alert have something to show (fabrikam's runs out sooner).
        clientSecretExpiresAt: new Date(Date.now() + (t.name === 'contoso' ? 180 : 10) * 86_400_000).toISOString(),
        authorityHost: sim.url,
        graphEndpoint: sim.url,
        serviceActivity: ['all'],
        ...definition.tenantConfig?.[t.name],
      })),
    }));
    // dist-simulator/demo.js → <repo>/dist/cli.js: the exporter as built by `npm run build`.
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const exporter = spawn(process.execPath, [cli, '--config.file', join(dir, 'config.yml'), '--web.listen-address', listen], {
      env: { ...loopbackEnv(process.env), NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') },
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    createInterface({ input: exporter.stderr }).on('line', (line) => process.stderr.write(`${formatLogLine(line)}\n`));
    const exited = new Promise<void>((resolve) => exporter.once('exit', () => resolve()));
    cleanups.push(async () => {
      if (exporter.exitCode === null && exporter.signalCode === null) exporter.kill('SIGTERM');
      await exited;
    });
    exporter.once('exit', (code) => void stop(code ?? 1));

    process.stdout.write(`\n${renderText(view())}\n`);
    await watch(`${exporterUrl}/metrics`, signals, { startedAt, everyMs: Math.min(5_000, Math.max(500, stepMs / 4)), signal: abort.signal, say, scenario });
  } catch (error) {
    process.stderr.write(`demo failed: ${(error as Error).message}\n`);
    await stop(1);
  }
}

/** Scrapes the exporter and checks every signal; prints each the first time it holds, and once when all have. */
async function watch(
  metricsUrl: string,
  signals: SignalStatus[],
  options: { startedAt: number; everyMs: number; signal: AbortSignal; say: (line: string) => void; scenario: string },
): Promise<void> {
  let allSeen = false;
  while (!options.signal.aborted) {
    try {
      const samples = parseExposition(await (await fetch(metricsUrl, { signal: options.signal })).text());
      for (const status of signals) {
        status.holds = status.signal.all.every((c) => holds(c, samples));
        status.values = status.signal.all.map((c) => shown(c, samples));
        if (status.holds && status.seenAfterMs === undefined) {
          status.seenAfterMs = Date.now() - options.startedAt;
          options.say(`demo: seen after ${Math.round(status.seenAfterMs / 1000)} s: ${status.signal.what}`);
        }
      }
      if (!allSeen && signals.every((s) => s.seenAfterMs !== undefined)) {
        allSeen = true;
        options.say(`demo: all ${signals.length} signals of ${options.scenario} seen within ${Math.round((Date.now() - options.startedAt) / 1000)} s`);
      }
    } catch {
      // Not listening yet, or stopping.
    }
    await sleep(options.everyMs, undefined, { signal: options.signal }).catch(() => undefined);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${(error as Error).message}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
});
