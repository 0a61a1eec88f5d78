/**
 * The exporter process behind an HTTP CONNECT proxy (test/helpers/connectProxy.ts). The tunnelled tenant's Entra ID
 * and Graph host, m365.sim.test, is a name only the proxy resolves (this machine's DNS does not know it), so its
 * data arriving proves the token and Graph requests went through the tunnel; the proxy's log shows which tunnels
 * were opened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/index.js';
import { startConnectProxy, type ConnectProxy } from '../helpers/connectProxy.js';
import { select, value, type ParsedSample } from '../helpers/exposition.js';
import { startExporter, tenantConfig, type ExporterProcess } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitFor } from '../helpers/wait.js';

const TUNNELLED = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000201', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000201', clientSecret: 'tunnelled-secret-value-1' };
const DIRECT = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000202', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000202', clientSecret: 'direct-secret-value-2' };
const PROXY_PASSWORD = 'proxy-pa55word-never-logged';
const HOST = 'm365.sim.test';

let stack: Stack;
let sim: Simulator;
let proxy: ConnectProxy;
let simPort: string;
const tunnelledUrl = () => `https://${HOST}:${simPort}`;

async function everyCollectorSucceeded(exporter: ExporterProcess, tenants: string[]): Promise<ParsedSample[]> {
  return waitFor(`every collector of ${tenants.join(', ')} to succeed`, async () => {
    const all = await exporter.samples();
    const outcomes = select(all, 'm365_exporter_collector_success').filter((s) => tenants.includes(s.labels.tenant!));
    return outcomes.length === tenants.length * 3 && outcomes.every((s) => s.value === 1) && all;
  });
}

beforeAll(async () => {
  proxy = await startConnectProxy({ hosts: { [HOST]: '127.0.0.1' } });
  stack = await startStack({
    simulator: { tenants: [{ ...TUNNELLED, services: 3 }, { ...DIRECT, services: 4 }], tlsDnsNames: [HOST] },
    env: { HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1,localhost' },
    config: ({ sim }) => {
      simPort = new URL(sim.url).port;
      return {
        refresh: { health: '1s', issues: '1s', messages: '2s' },
        tenants: [
          tenantConfig('tunnelled', { url: tunnelledUrl() }, TUNNELLED),
          tenantConfig('direct', sim, DIRECT),
        ],
      };
    },
  });
  sim = stack.sim;
});

afterAll(async () => {
  await stack?.stop();
  await proxy?.stop();
});

describe('HTTPS_PROXY and NO_PROXY', () => {
  it('reaches Entra ID and Graph through the proxy, except the NO_PROXY hosts', async () => {
    const all = await everyCollectorSucceeded(stack.exporter, ['tunnelled', 'direct']);
    expect(select(all, 'm365_service_info', { tenant: 'tunnelled' })).toHaveLength(3);
    expect(select(all, 'm365_service_info', { tenant: 'direct' })).toHaveLength(4);
    const targets = new Set(proxy.tunnels.map((t) => t.target));
    expect(targets).toEqual(new Set([`${HOST}:${simPort}`]));
    expect(proxy.tunnels.every((t) => t.status === 200 && t.authorization === undefined)).toBe(true);
    expect(proxy.plainRequests).toEqual([]);
    // Token and Graph requests of the tunnelled tenant: all through tunnels (keep-alive lets one carry several).
    expect(sim.requests.filter((r) => r.tenantId === TUNNELLED.tenantId && r.kind === 'token')).toHaveLength(1);
    expect(value(all, 'm365_exporter_token_requests_total', { tenant: 'tunnelled', result: 'success' })).toBe(1);
  });
});

describe('proxy: in the config', () => {
  let authenticating: ConnectProxy;
  let exporter: ExporterProcess;
  /** Tunnels of the environment's proxy before this exporter started: it must open none. */
  let tunnelsBefore = 0;
  beforeAll(async () => {
    tunnelsBefore = proxy.tunnels.length;
    authenticating = await startConnectProxy({ hosts: { [HOST]: '127.0.0.1' }, credentials: { user: 'exporter', password: PROXY_PASSWORD } });
    exporter = await startExporter({
      refresh: { health: '1s', issues: '1s', messages: '2s' },
      proxy: { url: authenticating.url.replace('//', `//exporter:${PROXY_PASSWORD}@`) },
      tenants: [tenantConfig('tunnelled', { url: tunnelledUrl() }, TUNNELLED), tenantConfig('direct', sim, DIRECT)],
    }, sim.caCertPem, [], { HTTPS_PROXY: proxy.url, NO_PROXY: '*' });
  });
  afterAll(async () => {
    await exporter?.stop();
    await authenticating?.stop();
  });

  it('replaces the environment, sends the credentials of its URL, and never shows them', async () => {
    await everyCollectorSucceeded(exporter, ['tunnelled', 'direct']);
    // NO_PROXY=* of the environment is ignored: noProxy is empty, so 127.0.0.1 goes through the proxy too.
    expect(new Set(authenticating.tunnels.map((t) => t.target))).toEqual(new Set([`${HOST}:${simPort}`, `127.0.0.1:${simPort}`]));
    expect(authenticating.tunnels.every((t) => t.authorization === `Basic ${Buffer.from(`exporter:${PROXY_PASSWORD}`).toString('base64')}`)).toBe(true);
    // HTTPS_PROXY of the environment is ignored too.
    expect(proxy.tunnels.length).toBe(tunnelsBefore);
    const shown = `${exporter.logs.join('\n')}\n${await exporter.scrape()}`;
    expect(shown).not.toContain(PROXY_PASSWORD);
    expect(shown).not.toContain(TUNNELLED.clientSecret);
  });
});
