/**
 * A fleet split across replicas (README "Sharding"), end to end: one simulator with the tenants of an MSP, all
 * consented to one multi-tenant app (one clientId and secret in `defaults:`), one tenant file each in `tenantsDir:`,
 * and three built exporters started with --total-shards 3 and --shard 0, 1, 2, plus a fourth that takes its shard
 * from its pod name. Together they export every tenant exactly once; a tenant file added and reloaded lands in one
 * shard and moves, or restarts, no other tenant.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../simulator/index.js';
import { shardOf } from '../../src/config/sharding.js';
import { select, value } from '../helpers/exposition.js';
import { startExporter, type ExporterProcess } from '../helpers/exporterProcess.js';
import { waitFor } from '../helpers/wait.js';

const APP = { clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000051', clientSecret: 'msp-multi-tenant-app-secret-51' };
const NAMES = ['contoso', 'fabrikam', 'northwind', 'adventure-works', 'tailspin', 'wingtip', 'litware'];
const ADDED = 'woodgrove';
const tenantIdOf = (name: string) => `0d2d1a6e-1111-4c1e-9a7e-${String([...NAMES, ADDED].indexOf(name) + 1).padStart(12, '0')}`;

let sim: Simulator;
const shards: ExporterProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'm365-sharding-'));
const tenantsDir = join(dir, 'tenants.d');

function writeTenantFile(name: string): void {
  writeFileSync(join(tenantsDir, `${name}.yml`), `name: ${name}\ntenantId: ${tenantIdOf(name)}\n`);
}

/** The tenants an exporter exports, by the `tenant` label of m365_service_info. */
async function tenantsOf(exporter: ExporterProcess): Promise<string[]> {
  return [...new Set(select(await exporter.samples(), 'm365_service_info').map((s) => s.labels.tenant!))].sort();
}

beforeAll(async () => {
  sim = await startSimulator({ tenants: [...NAMES, ADDED].map((name) => ({ tenantId: tenantIdOf(name), ...APP, services: 2 })) });
  mkdirSync(tenantsDir);
  NAMES.forEach(writeTenantFile);
  const config = { defaults: { ...APP, authorityHost: sim.url, graphEndpoint: sim.url }, tenantsDir };
  shards.push(...await Promise.all([0, 1, 2].map((shard) => startExporter(config, sim.caCertPem, ['--total-shards', '3', '--shard', String(shard)]))));
  await Promise.all(shards.map((exporter) => waitFor('the shard to be ready', async () => (await exporter.fetch('/-/ready')).ok, 30_000, 100)));
});
afterAll(async () => {
  await Promise.all(shards.map((exporter) => exporter.stop()));
  await sim?.stop();
});

describe('three shards of a fleet', () => {
  it('export every tenant exactly once, each the tenants its name hashes to', async () => {
    const exported = await Promise.all(shards.map(tenantsOf));
    expect(exported.flat().sort()).toEqual([...NAMES].sort());
    exported.forEach((tenants, shard) => expect(tenants).toEqual(NAMES.filter((name) => shardOf(name, 3) === shard).sort()));
    // Every shard has tenants with these names (a test of the split, not of an empty shard).
    expect(exported.map((tenants) => tenants.length)).not.toContain(0);
    for (const [shard, exporter] of shards.entries()) {
      expect(select(await exporter.samples(), 'm365_exporter_shard_info')).toEqual([{ name: 'm365_exporter_shard_info', labels: { shard: String(shard), total_shards: '3' }, value: 1 }]);
    }
  });

  it('answer /probe for their own tenants only', async () => {
    const name = NAMES.find((n) => shardOf(n, 3) === 1)!;
    expect((await shards[1]!.fetch(`/probe?tenant=${name}`)).status).toBe(200);
    expect((await shards[0]!.fetch(`/probe?tenant=${name}`)).status).toBe(400);
  });

  it('a replica that takes its shard from its pod name exports what --shard does', async () => {
    const fromName = await startExporter({ defaults: { ...APP, authorityHost: sim.url, graphEndpoint: sim.url }, tenantsDir }, sim.caCertPem,
      ['--total-shards', '3', '--shard-from-hostname'], { POD_NAME: 'm365-health-exporter-2' });
    try {
      await waitFor('the pod-named shard to be ready', async () => (await fromName.fetch('/-/ready')).ok, 30_000, 100);
      expect(await tenantsOf(fromName)).toEqual(await tenantsOf(shards[2]!));
      expect(value(await fromName.samples(), 'm365_exporter_shard_info', { shard: '2', total_shards: '3' })).toBe(1);
    } finally {
      await fromName.stop();
    }
  });

  it('a tenant file added and reloaded lands in one shard and moves or restarts no other tenant', async () => {
    const before = await Promise.all(shards.map(tenantsOf));
    const tokenRequests = () => NAMES.map((name) => sim.tenant(tenantIdOf(name)).tokenRequests);
    const tokensBefore = tokenRequests();
    writeTenantFile(ADDED);
    for (const exporter of shards) exporter.process.kill('SIGHUP');
    const home = shardOf(ADDED, 3);
    const reloaded = (exporter: ExporterProcess) => exporter.logs.filter((line) => line.includes('"msg":"configuration reloaded"')).map((line) => JSON.parse(line) as Record<string, unknown>);
    await waitFor('every shard to reload', () => shards.every((exporter) => reloaded(exporter).length === 1));
    expect(shards.map((exporter) => reloaded(exporter)[0])).toEqual(shards.map((_, shard) => expect.objectContaining({
      added: shard === home ? [ADDED] : [], changed: [], removed: [], unchanged: before[shard]!.length,
    })));
    await waitFor('the added tenant in its shard', async () => (await tenantsOf(shards[home]!)).includes(ADDED));
    const after = await Promise.all(shards.map(tenantsOf));
    after.forEach((tenants, shard) => expect(tenants).toEqual(shard === home ? [...before[shard]!, ADDED].sort() : before[shard]));
    // Running tenants kept their tokens: none was restarted by the reload.
    expect(tokenRequests()).toEqual(tokensBefore);
  });
});
