/**
 * Resources of one exporter pod (one shard, or one replica of it) for the tenants it exports, as the manifests of
 * deploy/kubernetes and README's sizing table state them (README, "Sizing"). The tests hold both to these functions.
 *
 * Measured: `npm run bench` on 2 cores, 500 realistic tenants with the history store, issue posts and message bodies
 * kept (README, "Performance"): 1127 MiB RSS, 392 MiB of it live heap (2.0 and 0.8 MiB per tenant), 114 MiB with one
 * tenant; before posts and bodies were kept, 0.5-0.8 MiB per tenant. A 5-minute run of 250 realistic tenants at the default refresh intervals, scraped once a minute:
 * 0.35-0.42 millicores per tenant; 544-653 MiB of RSS with Node.js left to size its heap, 345-353 MiB with
 * --max-old-space-size=256 (about 1.1 MiB per tenant above the one-tenant process).
 */

/** A Node.js process with the exporter loaded (83 MiB RSS measured with one tenant). */
export const BASE_MIB = 100;
/** Requested per tenant: about the benchmark's live heap per tenant plus its rendered exposition. */
export const REQUEST_MIB_PER_TENANT = 1.0;
/** Allowed per tenant: the highest RSS per tenant measured (500 tenants, heap not capped), with a little room. */
export const LIMIT_MIB_PER_TENANT = 2.2;
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
