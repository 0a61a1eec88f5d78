/**
 * `npm run bench`: the built exporter against simulated fleets, as an MSP would run it. Measures the time until every
 * tenant's first refresh is done, scrape latency of /metrics and /probe, exposition size, series and memory, and
 * prints one JSON line per fleet size. No timing is asserted: numbers are for the closing notes and regressions.
 * BENCH_TENANTS=10,100,300 chooses the fleet sizes; BENCH_PROFILE=realistic gives every tenant the simulator's realistic
 * profile (40 services, 100 issues, 300 message-center posts) instead of the default 26 services with a little history.
 */
import { describe, expect, it } from 'vitest';
import { parseExposition, select, value } from '../test/helpers/exposition.js';
import { tenantConfig } from '../test/helpers/exporterProcess.js';
import { startStack } from '../test/helpers/stack.js';

const SIZES = (process.env.BENCH_TENANTS ?? '10,100,300').split(',').map(Number);
const REALISTIC = process.env.BENCH_PROFILE === 'realistic';
if (process.env.BENCH_PROFILE !== undefined && !REALISTIC) throw new Error(`BENCH_PROFILE must be 'realistic' or unset, got '${process.env.BENCH_PROFILE}'`);
const SERVICES_PER_TENANT = REALISTIC ? 40 : 26;

async function timed(times: number, fn: () => Promise<unknown>): Promise<{ medianMs: number; p95Ms: number; maxMs: number }> {
  const durations: number[] = [];
  for (let i = 0; i < times; i++) {
    const started = performance.now();
    await fn();
    durations.push(performance.now() - started);
  }
  durations.sort((a, b) => a - b);
  const at = (q: number) => Math.round(durations[Math.min(durations.length - 1, Math.floor(q * durations.length))]! * 10) / 10;
  return { medianMs: at(0.5), p95Ms: at(0.95), maxMs: at(1) };
}

/** Resident memory is the high-water mark (scrapes allocate ~2 bytes per exposition character); heap is what stays. */
function memory(samples: ReturnType<typeof parseExposition>) {
  const mib = (name: string) => Math.round(value(samples, name)! / 2 ** 20);
  return { residentMemoryMiB: mib('process_resident_memory_bytes'), heapUsedMiB: mib('nodejs_heap_size_used_bytes') };
}

describe('exporter at fleet scale', () => {
  for (const size of SIZES) {
    it(`${size} tenants × ${SERVICES_PER_TENANT} services`, async () => {
      const tenants = Array.from({ length: size }, (_, i) => ({
        name: `tenant${String(i).padStart(4, '0')}`,
        tenantId: `0b0b0000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        clientId: `c0c00000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        clientSecret: 'bench-secret',
        ...(REALISTIC && { profile: 'realistic' as const }),
      }));
      const stack = await startStack({
        simulator: { tenants, enforceThrottling: false },
        config: ({ sim }) => ({
          refresh: { health: '5m', issues: '5m', messages: '15m' },
          readyTimeout: '10m',
          tenants: tenants.map((t) => tenantConfig(t.name, sim, t)),
        }),
        readyTimeoutMs: 300_000,
      });
      const { sim, exporter, readyMs } = stack;
      try {
        const text = await exporter.scrape();
        const samples = parseExposition(text);
        expect(select(samples, 'm365_service_info')).toHaveLength(size * SERVICES_PER_TENANT);
        const metrics = await timed(20, () => exporter.scrape());
        const probe = await timed(50, () => exporter.scrape(`/probe?tenant=${tenants[0]!.name}`));
        console.log(JSON.stringify({
          tenants: size,
          profile: REALISTIC ? 'realistic' : 'default',
          readyMs,
          exposition: { bytes: text.length, samples: samples.length },
          scrapeMetrics: metrics,
          scrapeProbe: probe,
          ...memory(await exporter.samples()),
          tokenRequests: tenants.reduce((sum, t) => sum + sim.tenant(t.tenantId).tokenRequests, 0),
          graphRequests: sim.requests.filter((r) => r.kind === 'graph').length,
        }));
      } finally {
        await stack.stop();
      }
    }, 900_000);
  }
});
