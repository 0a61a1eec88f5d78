#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, loadConfigFromEnv, type Config } from './config/load.js';
import { configSchema } from './config/schema.js';
import { selectShard, shardingFromFlags } from './config/sharding.js';
import { summarize } from './config/summary.js';
import { Exporter } from './exporter.js';
import { createLogger } from './logger.js';
import { VERSION } from './version.js';

const USAGE = `Usage: m365-health-exporter [--config FILE] [--listen HOST:PORT] [--check-config] [--log-level LEVEL]
                            [--total-shards M (--shard N | --shard-from-hostname)]

Exports Microsoft 365 service health, issues and message center posts from Microsoft Graph as Prometheus metrics.
Without --config, one tenant is read from M365_TENANT_ID, M365_CLIENT_ID and M365_CLIENT_SECRET
(or M365_CLIENT_SECRET_FILE / M365_CLIENT_CERTIFICATE_FILE), M365_CLOUD, M365_AUTHORITY_HOST, M365_GRAPH_ENDPOINT.

  --config FILE      YAML configuration (see README)
  --listen ADDR      listen address, default :9877 (overrides listen: in the file)
  --check-config     validate the configuration and exit (0 valid, 1 invalid)
  --log-level LEVEL  debug, info, warn or error (overrides logLevel:)
  --total-shards M   export only the tenants of one of M shards (overrides sharding: in the file)
  --shard N          this replica's shard, 0 to M-1
  --shard-from-hostname  the shard is the ordinal ending the pod name (POD_NAME, else the host name): m365-exporter-2 is 2
  --version          print the version
`;

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        config: { type: 'string' },
        listen: { type: 'string' },
        'check-config': { type: 'boolean' },
        'log-level': { type: 'string' },
        shard: { type: 'string' },
        'total-shards': { type: 'string' },
        'shard-from-hostname': { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`m365-health-exporter ${VERSION}\n`);
    return 0;
  }

  let config: Config;
  try {
    config = args.config ? loadConfigFile(args.config) : loadConfigFromEnv();
    if (args.listen) {
      const listen = configSchema.shape.listen.safeParse(args.listen);
      if (!listen.success) throw new ConfigError(`--listen: ${listen.error.issues[0]!.message}`);
      config.listen = listen.data;
    }
    if (args['log-level']) config.logLevel = args['log-level'] as Config['logLevel'];
    config = selectShard(config, shardingFromFlags({ shard: args.shard, totalShards: args['total-shards'], shardFromHostname: args['shard-from-hostname'] }));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`invalid configuration:\n${error.message}\n`);
    return 1;
  }
  if (args['check-config']) {
    process.stdout.write(`${summarize(config)}\n`);
    return 0;
  }

  const logger = createLogger(config.logLevel);
  const exporter = new Exporter(config, logger);
  await exporter.start();
  await new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      exporter.stop().then(resolve, resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fatal: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
