#!/usr/bin/env node
/**
 * Standalone simulator (docker-compose, manual runs):
 *   node dist-simulator/cli.js --port 8443 --tenants 2 --scenario incident-lifecycle --ca-out ca.pem
 *   --settle-seconds N: Monitoring API late-data settle time (default 1200).
 *   --profile realistic: 40 services, 100 issues and 300 message-center posts per tenant (benchmarks), drawn from one
 *     catalogue; --realistic-content per-tenant gives each tenant texts of its own (the worst case for memory).
 * Tenant and client ids are deterministic. Without --client-secret-file every app accepts the secret
 * "simulator-secret": a documented demo value, not a secret. Prints {url, caFile, tenants} as JSON on stdout.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runScenario, SCENARIOS, startSimulator, type SimTenantSpec } from './index.js';

const DEMO_CLIENT_SECRET = 'simulator-secret';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '8443' },
    tenants: { type: 'string', default: '1' },
    services: { type: 'string', default: 'default' },
    profile: { type: 'string' },
    'realistic-content': { type: 'string', default: 'shared' },
    scenario: { type: 'string' },
    'step-ms': { type: 'string', default: '15000' },
    'ca-out': { type: 'string' },
    'client-secret-file': { type: 'string' },
    'dns-name': { type: 'string', multiple: true, default: [] },
    'no-throttling': { type: 'boolean', default: false },
    'settle-seconds': { type: 'string', default: '1200' },
  },
  strict: true,
});

function positiveInt(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got '${raw}'`);
  return n;
}

/** Deterministic GUID-like ids, so configs and dashboards can be written ahead of time. */
const guid = (prefix: string, i: number): string => `${prefix}-0000-4000-8000-${String(i).padStart(12, '0')}`;

async function main(): Promise<void> {
  if (args.scenario && !SCENARIOS[args.scenario]) throw new Error(`unknown scenario '${args.scenario}'; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const clientSecret = args['client-secret-file'] ? (await readFile(args['client-secret-file'], 'utf8')).trim() : DEMO_CLIENT_SECRET;
  if (args.profile !== undefined && args.profile !== 'realistic') throw new Error(`--profile must be 'realistic', got '${args.profile}'`);
  const realisticContent = args['realistic-content'];
  if (realisticContent !== 'shared' && realisticContent !== 'per-tenant') throw new Error(`--realistic-content must be 'shared' or 'per-tenant', got '${realisticContent}'`);
  const services = args.services === 'default' ? 'default' : positiveInt('services', args.services);
  const tenants: SimTenantSpec[] = Array.from({ length: positiveInt('tenants', args.tenants) }, (_, i) => ({
    tenantId: guid('5e1f0000', i + 1),
    clientId: guid('c11e0000', i + 1),
    clientSecret,
    ...(args.profile === 'realistic' ? { profile: 'realistic' as const } : { services }),
  }));
  const sim = await startSimulator({
    host: args.host,
    port: positiveInt('port', args.port),
    tenants,
    enforceThrottling: !args['no-throttling'],
    realisticContent,
    serviceActivitySettleSeconds: positiveInt('settle-seconds', args['settle-seconds']),
    tlsDnsNames: args['dns-name'],
  });
  if (args['ca-out']) await writeFile(args['ca-out'], sim.caCertPem);

  const abort = new AbortController();
  const scenarios = args.scenario
    ? tenants.map((t) => runScenario(sim, t.tenantId, args.scenario!, { stepMs: positiveInt('step-ms', args['step-ms']), loop: true, signal: abort.signal }))
    : [];
  const shutdown = (): void => {
    abort.abort();
    void Promise.all(scenarios).then(() => sim.stop());
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  process.stdout.write(
    `${JSON.stringify({
      url: sim.url,
      caFile: args['ca-out'] ?? null,
      clientSecretSource: args['client-secret-file'] ? 'file' : 'demo default',
      scenario: args.scenario ?? null,
      tenants: tenants.map((t) => ({ tenantId: t.tenantId, clientId: t.clientId, authority: `${sim.url}/${t.tenantId}` })),
    })}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`simulator: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
