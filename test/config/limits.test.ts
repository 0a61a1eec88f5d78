/**
 * Every value --check-config accepts also runs: the exporter started with the longest durations the schema allows
 * (src/config/schema.ts) waits them out instead of firing at once. Before the limits, `refresh: 30d` overflowed
 * setTimeout (2^31-1 ms at most; a longer delay fires after 1 ms) and refreshed, and asked for tokens, dozens of
 * times a second.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tenantConfig } from '../helpers/exporterProcess.js';
import { startStack, type Stack } from '../helpers/stack.js';

const CONTOSO = { tenantId: '0d2d1a6e-1111-4c1e-9a7e-000000000901', clientId: '5a1c0c8e-2222-4b8e-8f3e-000000000901', clientSecret: 'contoso-limits-secret-9' };
const LONGEST = '24d';

let stack: Stack<true>;

beforeAll(async () => {
  stack = await startStack({
    simulator: { tenants: [{ ...CONTOSO, services: 'default' }] },
    otlp: true,
    config: ({ sim, otlp }) => ({
      refresh: { health: LONGEST, issues: LONGEST, messages: LONGEST, serviceActivity: LONGEST },
      readyTimeout: LONGEST,
      maxStaleness: '365d',
      issueRetention: '365d',
      graph: { timeout: LONGEST, maxBackoff: LONGEST },
      serviceActivity: { settleDelay: '7d', lookback: '30d', recheckDisabled: LONGEST },
      otlp: { endpoint: otlp.endpoint, interval: LONGEST, timeout: LONGEST },
      tenants: [tenantConfig('contoso', sim, CONTOSO, { serviceActivity: ['exchange'] })],
    }),
  });
});

afterAll(() => stack?.stop());

describe('the longest durations the config accepts', () => {
  it('refresh each collector once and ask for one token, then wait', async () => {
    const graphRequests = () => stack.sim.requests.filter((r) => r.kind === 'graph').length;
    const afterReady = graphRequests();
    await sleep(3_000);
    expect(graphRequests()).toBe(afterReady);
    expect(stack.sim.tenant(CONTOSO.tenantId).tokenRequests).toBe(1);
    const healthRequests = stack.sim.requests.filter((r) => r.kind === 'graph' && r.path.endsWith('/healthOverviews'));
    expect(healthRequests).toHaveLength(1);
    // No OTLP export yet: the first is due in 24 days (the last one is sent at shutdown).
    expect(stack.otlp.requests).toEqual([]);
    expect(stack.exporter.process.exitCode).toBeNull();
  });

  it('shut down cleanly, with the last OTLP export', async () => {
    const code = await stack.exporter.stop();
    expect(code).toBe(0);
    expect(stack.otlp.requests.filter((r) => r.status === 200)).toHaveLength(1);
    expect(stack.exporter.logs.join('\n')).not.toContain('did not shut down in time');
  });
});
