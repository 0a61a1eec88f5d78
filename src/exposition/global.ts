import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { BUILD_INFO, CONFIG_RELOAD_SUCCESS_TIMESTAMP, CONFIG_RELOAD_SUCCESSFUL, OTLP_EXPORTS, SHARD_INFO } from '../model/metrics.js';
import type { Shard } from '../config/sharding.js';

export interface GlobalMetrics {
  registry: Registry;
  otlpExports: Counter<string>;
  /** Records a configuration load (the first at start) or a failed reload. */
  configLoaded(successful: boolean, now?: Date): void;
}

/**
 * Exporter-wide metrics: build info, configuration reloads, OTLP export results and the Node.js process metrics.
 * prom-client's default collectors read the process (CPU, memory, event loop, GC); the exposition renders their
 * values itself.
 */
export function createGlobalMetrics(version: string): GlobalMetrics {
  const registry = new Registry();
  const buildInfo = new Gauge({ name: BUILD_INFO.name, help: BUILD_INFO.help, labelNames: BUILD_INFO.labels as string[], registers: [registry] });
  buildInfo.set({ version, nodejs_version: process.version }, 1);
  const otlpExports = new Counter({ name: OTLP_EXPORTS.name, help: OTLP_EXPORTS.help, labelNames: OTLP_EXPORTS.labels as string[], registers: [registry] });
  const reloadSuccessful = new Gauge({ name: CONFIG_RELOAD_SUCCESSFUL.name, help: CONFIG_RELOAD_SUCCESSFUL.help, registers: [registry] });
  const reloadSuccessTime = new Gauge({ name: CONFIG_RELOAD_SUCCESS_TIMESTAMP.name, help: CONFIG_RELOAD_SUCCESS_TIMESTAMP.help, registers: [registry] });
  collectDefaultMetrics({ register: registry });
  // These three are gauges named *_total, which `promtool check metrics` rightly rejects; nodejs_active_handles,
  // nodejs_active_requests and nodejs_active_resources (by type) carry the same information.
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
  return {
    registry,
    otlpExports,
    configLoaded(successful, now = new Date()) {
      reloadSuccessful.set(successful ? 1 : 0);
      if (successful) reloadSuccessTime.set(now.getTime() / 1_000);
    },
  };
}

/** Registers m365_exporter_shard_info; the function it returns says which shard this replica exports. */
export function registerShardInfo(registry: Registry): (shard: Shard) => void {
  const gauge = new Gauge({ name: SHARD_INFO.name, help: SHARD_INFO.help, labelNames: SHARD_INFO.labels as string[], registers: [registry] });
  return ({ shard, totalShards }) => {
    gauge.reset();
    gauge.set({ shard: String(shard), total_shards: String(totalShards) }, 1);
  };
}
