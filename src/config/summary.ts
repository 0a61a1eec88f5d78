import type { Config } from './load.js';

/**
 * What --check-config prints: the source and the tenants this replica exports, one line each with its cloud,
 * credential kind and collectors, as key=value pairs a script can read. Nothing of a credential but its kind.
 */
export function summarize(config: Config): string {
  const { shard } = config;
  const count = `${config.tenants.length} tenant(s)`;
  const head = shard && shard.totalShards > 1 ? `shard ${shard.shard} of ${shard.totalShards}: ${count} of ${shard.fleetSize}` : count;
  const lines = config.tenants.map((tenant) =>
    `tenant=${tenant.name} cloud=${tenant.cloud} credential=${tenant.credential.kind} collectors=${tenant.collectors.join(',')}`);
  return [`${config.source}: valid; ${head}`, ...lines].join('\n');
}
