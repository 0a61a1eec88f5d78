import { hostname } from 'node:os';
import { ConfigError, type Config } from './load.js';
import { shardingSchema, type ShardingSettings } from './schema.js';

/** Which part of the fleet a replica exports. */
export interface Shard {
  shard: number;
  totalShards: number;
  /** Tenants in the configuration, before sharding: --check-config says how many this shard keeps. */
  fleetSize: number;
}

/**
 * The shard of a tenant, as kube-state-metrics picks the shard of an object (pkg/sharding/listwatch.go:
 * `jump.Hash(fnv64a(uid), totalShards)`): FNV-1a 64 of the tenant name (UTF-8), then Jump Consistent Hash. A tenant's
 * shard depends on its name and the number of shards only, so replicas split a fleet without talking to each other,
 * adding or removing a tenant moves no other, and going from M to M+1 shards moves only the tenants that land on
 * the new shard (about 1/(M+1) of them).
 */
export function shardOf(tenantName: string, totalShards: number): number {
  return jumpHash(fnv1a64(tenantName), totalShards);
}

const MASK_64 = (1n << 64n) - 1n;

/** FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/, as Go's hash/fnv New64a). */
export function fnv1a64(text: string): bigint {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text, 'utf8')) hash = ((hash ^ BigInt(byte)) * 0x100000001b3n) & MASK_64;
  return hash;
}

/**
 * Jump Consistent Hash (Lamping and Veach, https://arxiv.org/abs/1406.2294), as github.com/dgryski/go-jump, which
 * kube-state-metrics uses: a bucket in [0, buckets) for a 64-bit key.
 */
export function jumpHash(key: bigint, buckets: number): number {
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & MASK_64;
    j = Math.floor((b + 1) * (2 ** 31 / (Number(key >> 33n) + 1)));
  }
  return b;
}

export interface ShardFlags {
  shard?: string;
  totalShards?: string;
  shardFromHostname?: boolean;
}

const FLAG_NAMES: Record<string, string> = { shard: '--shard', totalShards: '--total-shards', shardFromHostname: '--shard-from-hostname' };

/**
 * The sharding the flags give, checked by the schema of `sharding:`; undefined without sharding flags. Flags replace
 * `sharding:` of the file as a whole, so what a pod's command line says is all there is to it.
 */
export function shardingFromFlags(flags: ShardFlags): ShardingSettings | undefined {
  const { shard, totalShards, shardFromHostname } = flags;
  if (shard === undefined && totalShards === undefined && !shardFromHostname) return undefined;
  if (totalShards === undefined) throw new ConfigError(`${shard === undefined ? '--shard-from-hostname' : '--shard'} needs --total-shards M`);
  const number = (text: string | undefined) => (text !== undefined && /^\d+$/.test(text) ? Number(text) : text);
  const parsed = shardingSchema.safeParse({ totalShards: number(totalShards), shard: number(shard), ...(shardFromHostname && { shardFromHostname }) });
  if (parsed.success) return parsed.data;
  throw new ConfigError(parsed.error.issues.map((issue) => {
    const key = issue.path[0];
    if (key !== undefined) return `${FLAG_NAMES[String(key)]}: ${issue.message}`;
    return shard === undefined ? '--total-shards needs --shard N or --shard-from-hostname' : '--shard and --shard-from-hostname: give one of them';
  }).join('\n'));
}

/** Not sharded: one replica exports every tenant. */
export function unsharded(config: Config): Shard {
  return { shard: 0, totalShards: 1, fleetSize: config.tenants.length };
}

/**
 * The configuration with only the tenants of this replica's shard: by the flags' sharding, else the file's
 * `sharding:`. With shardFromHostname the shard is the ordinal a StatefulSet ends its pod names with
 * (`m365-exporter-2` is shard 2): POD_NAME when set (the downward API), else the host name, which Kubernetes sets to
 * the pod name.
 */
export function selectShard(config: Config, flags?: ShardingSettings, env: NodeJS.ProcessEnv = process.env, host = hostname()): Config {
  const settings = flags ?? config.sharding;
  if (!settings) return { ...config, shard: unsharded(config) };
  const { totalShards } = settings;
  let shard = settings.shard;
  if (shard === undefined) {
    const where = flags ? '--shard-from-hostname' : `${config.source}: sharding.shardFromHostname`;
    const [name, from] = env.POD_NAME ? [env.POD_NAME, 'POD_NAME'] : [host, 'the host name'];
    const ordinal = /-(\d+)$/.exec(name)?.[1];
    if (ordinal === undefined) throw new ConfigError(`${where}: ${from} "${name}" does not end in -<ordinal>, as the name of a StatefulSet's pod does`);
    shard = Number(ordinal);
    if (shard >= totalShards) {
      throw new ConfigError(`${where}: ${from} "${name}" has ordinal ${shard}, which is not a shard of ${totalShards} (0 to ${totalShards - 1}); run as many replicas as shards`);
    }
  }
  return { ...config, tenants: config.tenants.filter((tenant) => shardOf(tenant.name, totalShards) === shard), shard: { shard, totalShards, fleetSize: config.tenants.length } };
}
