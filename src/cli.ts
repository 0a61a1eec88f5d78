#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { runBackfill } from './backfillCommand.js';
import { ConfigError, loadConfigFile, loadConfigFromEnv, type Config } from './config/load.js';
import { parseFlagValues, type FlagSettings, type FlagValue } from './config/overrides.js';
import { selectShard, shardingFromFlags, type ShardFlags } from './config/sharding.js';
import { summarize } from './config/summary.js';
import { DEFAULT_MAX_CONNECTIONS, loadWebConfig } from './config/web.js';
import { Exporter } from './exporter.js';
import { Logging } from './logger.js';
import { VERSION } from './version.js';

/**
 * Flags as Prometheus and its exporters name them (exporter-toolkit's --web.*, --log.*); the names of earlier
 * versions stay as aliases.
 */
const FLAGS = {
  'config.file': { alias: 'config', field: undefined, value: 'FILE', help: 'YAML configuration (see README); without it one tenant is read from M365_* variables' },
  'web.listen-address': { alias: 'listen', field: 'listen', value: 'ADDR', help: 'host:port or :port to listen on (overrides listen:, default :9877)' },
  'web.config.file': { alias: undefined, field: undefined, value: 'FILE', help: 'TLS, basic auth and response headers, in exporter-toolkit\'s web config format' },
  'web.max-connections': { alias: undefined, field: 'maxConnections', value: 'N', help: `connections kept open at most; more are closed at once (default ${DEFAULT_MAX_CONNECTIONS})` },
  'log.level': { alias: 'log-level', field: 'logLevel', value: 'LEVEL', help: 'debug, info, warn or error (overrides logLevel:, default info)' },
  'log.format': { alias: undefined, field: 'logFormat', value: 'FORMAT', help: 'logfmt or json (overrides logFormat:, default logfmt)' },
} as const satisfies Record<string, { alias?: string; field?: keyof FlagSettings; value: string; help: string }>;

const USAGE = `Usage: m365-health-exporter [flags]
       m365-health-exporter backfill --tenant NAME [--days 30] [--step 5m] [--config.file FILE] [--output FILE]

Exports Microsoft 365 service health, issues and message center posts from Microsoft Graph as Prometheus metrics.

${Object.entries(FLAGS).map(([name, flag]) => `  --${`${name} ${flag.value}`.padEnd(28)} ${flag.help}${flag.alias ? `; alias --${flag.alias}` : ''}`).join('\n')}
  --${'total-shards M'.padEnd(28)} export only the tenants of one of M shards (overrides sharding:; see README, Sharding)
  --${'shard N'.padEnd(28)} with --total-shards: this replica's shard, 0 to M-1
  --${'shard-from-hostname'.padEnd(28)} with --total-shards: the shard is the ordinal ending the pod name (POD_NAME, else the host name)
  --${'check-config'.padEnd(28)} validate the configuration (and web config), print a line per tenant, and exit
  -v, --${'version'.padEnd(24)} print the version
  -h, --${'help'.padEnd(24)} print this help

SIGHUP or POST /-/reload reload the configuration. Exit codes: 0 done, 1 invalid configuration, 2 unknown flag.
`;

type Parsed = { configFile?: string; webConfigFile?: string; checkConfig: boolean; values: FlagValue[]; sharding: ShardFlags };

/** The flags, or the message of a usage error. */
function parseFlags(argv: string[]): Parsed | { help: true } | { version: true } | { usageError: string } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {
    'check-config': { type: 'boolean' }, version: { type: 'boolean', short: 'v' }, help: { type: 'boolean', short: 'h' },
    shard: { type: 'string' }, 'total-shards': { type: 'string' }, 'shard-from-hostname': { type: 'boolean' },
  };
  for (const [name, flag] of Object.entries(FLAGS)) {
    options[name] = { type: 'string' };
    if (flag.alias) options[flag.alias] = { type: 'string' };
  }
  let given: Record<string, string | boolean | undefined>;
  try {
    given = parseArgs({ args: argv, options, strict: true }).values;
  } catch (error) {
    return { usageError: (error as Error).message };
  }
  if (given.help) return { help: true };
  if (given.version) return { version: true };
  const sharding = { shard: given.shard as string | undefined, totalShards: given['total-shards'] as string | undefined, shardFromHostname: given['shard-from-hostname'] as boolean | undefined };
  const parsed: Parsed = { checkConfig: Boolean(given['check-config']), values: [], sharding };
  for (const [name, flag] of Object.entries(FLAGS) as Array<[string, (typeof FLAGS)[keyof typeof FLAGS]]>) {
    if (flag.alias && given[name] !== undefined && given[flag.alias] !== undefined) {
      return { usageError: `--${flag.alias} is an alias of --${name}; give one of them` };
    }
    const used = given[name] !== undefined ? name : flag.alias;
    const value = used === undefined ? undefined : (given[used] as string | undefined);
    if (value === undefined) continue;
    if (name === 'config.file') parsed.configFile = value;
    else if (name === 'web.config.file') parsed.webConfigFile = value;
    else parsed.values.push({ flag: `--${used}`, field: flag.field!, value });
  }
  return parsed;
}

/** Set once the configuration is loaded, so even a fatal error's message is scrubbed of secrets. */
let logging: Logging | undefined;

async function main(): Promise<number> {
  if (process.argv[2] === 'backfill') return runBackfill(process.argv.slice(3));
  const flags = parseFlags(process.argv.slice(2));
  if ('usageError' in flags) {
    process.stderr.write(`${flags.usageError}\n\n${USAGE}`);
    return 2;
  }
  if ('help' in flags) {
    process.stdout.write(USAGE);
    return 0;
  }
  if ('version' in flags) {
    process.stdout.write(`m365-health-exporter ${VERSION}\n`);
    return 0;
  }

  let config: Config;
  let loadConfig: () => Config;
  let maxConnections: number;
  try {
    const { maxConnections: limit = DEFAULT_MAX_CONNECTIONS, ...overrides } = parseFlagValues(flags.values);
    maxConnections = limit;
    const sharding = shardingFromFlags(flags.sharding);
    // The same load at start and at every reload, flags over file, so a reload never undoes a flag; then this
    // replica's shard of the tenants.
    loadConfig = () => selectShard({ ...(flags.configFile ? loadConfigFile(flags.configFile) : loadConfigFromEnv()), ...overrides }, sharding);
    config = loadConfig();
    const web = flags.webConfigFile === undefined ? undefined : loadWebConfig(flags.webConfigFile);
    if (flags.checkConfig) {
      process.stdout.write(`${summarize(config)}\n`);
      if (web) {
        const tls = web.tls ? `TLS ${web.tls.minVersion}-${web.tls.maxVersion}, client certificates: ${web.tls.clientAuth}` : 'no TLS';
        process.stdout.write(`${web.source}: valid; ${tls}; ${web.users.size} basic auth user(s)\n`);
      }
      return 0;
    }
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`invalid configuration:\n${error.message}\n`);
    return 1;
  }

  logging = new Logging({ level: config.logLevel, format: config.logFormat });
  const logger = logging.logger;
  let exporter: Exporter;
  try {
    exporter = new Exporter({ config, logging, loadConfig, webConfigFile: flags.webConfigFile, maxConnections });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`invalid configuration:\n${error.message}\n`);
    return 1;
  }
  const started = exporter.start();
  // Installed before the server listens: without a handler SIGHUP ends the process.
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'reloading the configuration');
    // A failed start ends the process through main(); a reload reports its own failures.
    started.then(() => exporter.reload()).catch(() => undefined);
  });
  // Also before it listens: a SIGTERM that comes once the address is logged but before the tenants have started (a
  // test under load sent one there) must still end the process cleanly, after the start it interrupts.
  const stopped = new Promise<void>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      started.catch(() => undefined).then(() => exporter.stop()).then(resolve, resolve);
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
  await started;
  await stopped;
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    const message = (error as Error).message;
    process.stderr.write(`fatal: ${logging ? logging.scrub(message) : message}\n`);
    process.exit(1);
  },
);
