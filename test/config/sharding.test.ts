/**
 * Sharding (README "Sharding"): replicas split a fleet by a stable hash of the tenant name, as kube-state-metrics
 * splits objects. Every tenant is exported by exactly one shard; adding a tenant moves no other.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, type Config } from '../../src/config/load.js';
import { fnv1a64, jumpHash, selectShard, shardOf, shardingFromFlags } from '../../src/config/sharding.js';
import { errorOf } from '../helpers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'm365-sharding-'));
const APP = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

/** A fleet of `count` tenants as an MSP names them. */
function fleet(count: number, extra = ''): Config {
  const tenants = Array.from({ length: count }, (_, i) => `  - {name: customer-${String(i + 1).padStart(4, '0')}, tenantId: customer${i + 1}.onmicrosoft.com}\n`);
  const path = join(dir, `fleet-${count}.yml`);
  writeFileSync(path, `${extra}defaults:\n  clientId: ${APP}\n  clientSecret: s\ntenants:\n${tenants.join('')}`);
  return loadConfigFile(path, {});
}

const names = (config: Config) => config.tenants.map((t) => t.name);

describe('the hash', () => {
  it('is FNV-1a 64', () => {
    // Test vectors of the FNV reference (http://www.isthe.com/chongo/tech/comp/fnv/): "", "a", "foobar".
    expect(fnv1a64('')).toBe(0xcbf29ce484222325n);
    expect(fnv1a64('a')).toBe(0xaf63dc4c8601ec8cn);
    expect(fnv1a64('foobar')).toBe(0x85944171f73967e8n);
  });

  it('then Jump Consistent Hash, as github.com/dgryski/go-jump (which kube-state-metrics uses)', () => {
    // go-jump's jump_test.go, "generated from the reference C++ code": the bucket for 1..19 buckets.
    const vectors: Array<[bigint, number[]]> = [
      [0n, Array(19).fill(0)],
      [1n, [0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17]],
      [0xdeadbeefn, [0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16]],
      [0x0ddc0ffeebadf00dn, [0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15]],
    ];
    for (const [key, buckets] of vectors) expect(buckets.map((_, i) => jumpHash(key, i + 1)), String(key)).toEqual(buckets);
  });
});

describe('shards of a fleet', () => {
  const config = fleet(600);

  it.each([1, 2, 3, 5, 8])('%i shards export every tenant exactly once, in shards of about equal size', (totalShards) => {
    const shards = Array.from({ length: totalShards }, (_, shard) => names(selectShard(config, { shard, totalShards })));
    expect(shards.flat().sort()).toEqual(names(config).sort());
    const mean = 600 / totalShards;
    // Measured (the names are fixed, so this is deterministic): 8 shards hold 57 to 87 tenants of 600.
    for (const tenants of shards) expect(Math.abs(tenants.length - mean) / mean).toBeLessThan(0.3);
  });

  it('adding a tenant moves no other tenant', () => {
    const bigger = fleet(601);
    for (const totalShards of [2, 3, 7]) {
      for (let shard = 0; shard < totalShards; shard++) {
        const before = names(selectShard(config, { shard, totalShards }));
        const after = names(selectShard(bigger, { shard, totalShards }));
        expect(after.filter((name) => name !== 'customer-0601')).toEqual(before);
      }
    }
  });

  it('one more shard moves only the tenants it takes, about 1/(M+1) of the fleet', () => {
    for (const totalShards of [2, 3, 4]) {
      const moved = names(config).filter((name) => shardOf(name, totalShards) !== shardOf(name, totalShards + 1));
      expect(moved.every((name) => shardOf(name, totalShards + 1) === totalShards)).toBe(true);
      expect(Math.abs(moved.length - 600 / (totalShards + 1)) / (600 / (totalShards + 1))).toBeLessThan(0.25);
    }
  });

  it('says how many tenants of the fleet the shard keeps', () => {
    const selected = selectShard(config, { shard: 1, totalShards: 3 });
    expect(selected.shard).toEqual({ shard: 1, totalShards: 3, fleetSize: 600 });
    expect(selectShard(config).shard).toEqual({ shard: 0, totalShards: 1, fleetSize: 600 });
  });
});

describe('the shard from the pod name', () => {
  const config = fleet(20, 'sharding:\n  totalShards: 3\n  shardFromHostname: true\n');

  it('is the ordinal of a StatefulSet pod: POD_NAME, else the host name', () => {
    expect(selectShard(config, undefined, { POD_NAME: 'm365-exporter-2' }, 'ignored').shard!.shard).toBe(2);
    expect(selectShard(config, undefined, {}, 'm365-exporter-1').shard!.shard).toBe(1);
    expect(names(selectShard(config, undefined, {}, 'm365-exporter-1'))).toEqual(names(selectShard(config, { shard: 1, totalShards: 3 })));
  });

  it('refuses a name without an ordinal, or an ordinal beyond the shards', () => {
    expect(errorOf(() => selectShard(config, undefined, {}, 'laptop')))
      .toBe(`${config.source}: sharding.shardFromHostname: the host name "laptop" does not end in -<ordinal>, as the name of a StatefulSet's pod does`);
    expect(errorOf(() => selectShard(config, { totalShards: 3, shardFromHostname: true }, { POD_NAME: 'm365-exporter-3' })))
      .toBe('--shard-from-hostname: POD_NAME "m365-exporter-3" has ordinal 3, which is not a shard of 3 (0 to 2); run as many replicas as shards');
  });
});

describe('sharding settings', () => {
  it.each([
    ['no shard', 'sharding:\n  totalShards: 3\n', 'sharding: needs shard (0 to totalShards - 1) or shardFromHostname: true'],
    ['both', 'sharding:\n  totalShards: 3\n  shard: 0\n  shardFromHostname: true\n', 'sharding: has shard and shardFromHostname; give one of them'],
    ['shard out of range', 'sharding:\n  totalShards: 3\n  shard: 3\n', 'sharding.shard: 3 is not a shard of 3: shards are numbered 0 to 2'],
    ['no total', 'sharding:\n  shard: 0\n', 'sharding.totalShards: must be a whole number from 1 to 1000'],
    ['hostname false', 'sharding:\n  totalShards: 2\n  shardFromHostname: false\n', 'sharding.shardFromHostname: must be true, or left out when shard is given'],
  ])('in the file, %s', (_case, yaml, expected) => {
    expect(errorOf(() => fleet(1, yaml))).toBe(`${join(dir, 'fleet-1.yml')}: ${expected}`);
  });

  it.each([
    [{ shard: '1' }, '--shard needs --total-shards M'],
    [{ shardFromHostname: true }, '--shard-from-hostname needs --total-shards M'],
    [{ totalShards: '3' }, '--total-shards needs --shard N or --shard-from-hostname'],
    [{ totalShards: '3', shard: '1', shardFromHostname: true }, '--shard and --shard-from-hostname: give one of them'],
    [{ totalShards: '3', shard: '3' }, '--shard: 3 is not a shard of 3: shards are numbered 0 to 2'],
    [{ totalShards: 'three', shard: '-1' }, '--total-shards: must be a whole number from 1 to 1000\n--shard: must be a whole number from 0 to 999'],
  ])('as flags %o', (flags, expected) => {
    expect(errorOf(() => shardingFromFlags(flags))).toBe(expected);
  });

  it('flags replace the file\'s sharding', () => {
    expect(shardingFromFlags({})).toBeUndefined();
    const config = fleet(10, 'sharding:\n  totalShards: 2\n  shard: 1\n');
    expect(selectShard(config).shard).toMatchObject({ shard: 1, totalShards: 2 });
    expect(selectShard(config, shardingFromFlags({ totalShards: '5', shard: '4' })).shard).toMatchObject({ shard: 4, totalShards: 5 });
  });
});
