/**
 * Resources of one exporter pod (one shard, or one replica of it) for the tenants it exports, as the manifests of
 * deploy/kubernetes and README's sizing table state them (README, "Sizing"). The tests hold both to these functions.
 *
 * Measured: `npm run bench` on 2 cores with the runtime image's allocator (jemalloc), realistic tenants with the
 * history store, issue posts and message bodies kept (docs/performance.md): 103-228 MiB RSS with one tenant (jemalloc
 * returns pages free for 10 s, so it depends on when it is read); 351-412 MiB at 500 tenants in eight runs, 347-417 MiB
 * over an hour of scrapes without growth (bench/results/soak-500.json); 506-627 MiB at 1000. The start, when every
 * tenant's first refresh comes in within seconds: 390 MiB at 500 tenants (RSS sampled every 500 ms from start to ready).
 * CPU, from a 5-minute run of 250 realistic tenants at the default refresh intervals, scraped once a minute: 0.35-0.42
 * millicores per tenant.
 */

/** A Node.js process with the exporter loaded and one tenant (103-165 MiB RSS in most runs, jemalloc). */
export const BASE_MIB = 140;
/** Requested per tenant: 440 MiB at 500 tenants, above the start's 390 and the highest of an hour of scrapes, 417. */
export const REQUEST_MIB_PER_TENANT = 0.6;
/** Allowed per tenant: twice the request's, for what the bench does not do (a Graph answer's bodies larger than the simulator's). */
export const LIMIT_MIB_PER_TENANT = 1.2;
/** What refusing an oversized Graph answer adds for a moment (60-160 MiB in the fault campaign; README, Faults). */
export const HEADROOM_MIB = 160;
/** CPU of the process without tenants, and per tenant (about the measured 0.35-0.42 m, plus room for bursts). */
export const BASE_MILLICORES = 50;
export const MILLICORES_PER_TENANT = 0.4;
/** One event loop: a limit above one core buys little; the first refresh of every tenant is the only burst. */
export const CPU_LIMIT = '1';

export interface PodResources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

export function podResources(tenants: number): PodResources {
  return {
    requests: { cpu: `${Math.round(BASE_MILLICORES + MILLICORES_PER_TENANT * tenants)}m`, memory: `${Math.ceil(BASE_MIB + REQUEST_MIB_PER_TENANT * tenants)}Mi` },
    limits: { cpu: CPU_LIMIT, memory: `${memoryLimitMiB(tenants)}Mi` },
  };
}

function memoryLimitMiB(tenants: number): number {
  return Math.ceil(BASE_MIB + LIMIT_MIB_PER_TENANT * tenants + HEADROOM_MIB);
}

/**
 * `--max-old-space-size` (MiB) for NODE_OPTIONS: half the memory limit, leaving the other half to what lives outside
 * the JavaScript heap (the rendered exposition, gzip, TLS, the runtime). Without a cap Node.js sizes its heap from the
 * memory it sees rather than the pod's limit, and lets it grow: see the 250-tenant run above.
 */
export function maxOldSpaceMiB(tenants: number): number {
  return Math.round(memoryLimitMiB(tenants) / 2);
}

/**
 * V8's helper threads (garbage collection): one, for a pod of one core, as the runtime image sets it (Dockerfile);
 * Node.js starts four whatever the CPUs, and at 1000 tenants on 2 cores their concurrent marking took both cores from
 * the event loop (docs/performance.md).
 */
export const V8_POOL_SIZE = 1;

/**
 * The young generation's semi-spaces (MiB), as the runtime image sets them (Dockerfile): without the cap, Node.js 24
 * let a 500-tenant exporter's heap grow to 239 MiB and its RSS to 521-590 MiB, above this file's request; with it,
 * 116-119 and 359-420 (docs/performance.md).
 */
export const SEMI_SPACE_MIB = 4;

/** The pod's NODE_OPTIONS, which replaces the image's: its heap cap, and the image's helper threads and young generation kept. */
export function nodeOptions(tenants: number): string {
  return `--max-old-space-size=${maxOldSpaceMiB(tenants)} --v8-pool-size=${V8_POOL_SIZE} --max-semi-space-size=${SEMI_SPACE_MIB}`;
}
