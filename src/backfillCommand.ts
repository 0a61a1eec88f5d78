import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfigFile, loadConfigFromEnv } from './config/load.js';
import { parseDuration } from './config/duration.js';
import { backfillOpenMetrics } from './exposition/backfill.js';
import { HistoryStore } from './history/store.js';
import { pino } from 'pino';

export const BACKFILL_USAGE = `Usage: m365-health-exporter backfill --tenant NAME [--days 30] [--step 5m] [--config.file FILE] [--output FILE]

Writes OpenMetrics with timestamps of m365_service_status, m365_service_operational and m365_service_issues_open for
one tenant, reconstructed from the history store (storage.path of the configuration), for
  promtool tsdb create-blocks-from openmetrics FILE DATA_DIR
`;

/** `m365-health-exporter backfill …`: exit code 0 written, 1 bad configuration or store, 2 bad flags. */
export async function runBackfill(argv: string[], now = Date.now()): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv, strict: true,
      options: {
        tenant: { type: 'string' }, days: { type: 'string', default: '30' }, step: { type: 'string', default: '5m' },
        'config.file': { type: 'string' }, config: { type: 'string' }, output: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${BACKFILL_USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(BACKFILL_USAGE);
    return 0;
  }
  const days = Number(args.days);
  let stepMs: number;
  try {
    stepMs = parseDuration(args.step!);
  } catch (error) {
    process.stderr.write(`--step: ${(error as Error).message}\n`);
    return 2;
  }
  if (!args.tenant || !Number.isInteger(days) || days < 1 || days > 365 || stepMs < 1_000 || stepMs > 300_000) {
    process.stderr.write(`backfill needs --tenant NAME, --days from 1 to 365 and --step from 1s to 5m (Prometheus' lookback)\n\n${BACKFILL_USAGE}`);
    return 2;
  }
  const file = args['config.file'] ?? args.config;
  let config;
  try {
    config = file ? loadConfigFile(file) : loadConfigFromEnv();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`invalid configuration:\n${error.message}\n`);
    return 1;
  }
  const tenant = config.tenants.find((t) => t.name === args.tenant);
  if (!tenant) {
    process.stderr.write(`unknown tenant ${JSON.stringify(args.tenant.slice(0, 100))}: not in the configuration\n`);
    return 1;
  }
  if (!config.storage.enabled) {
    process.stderr.write('the history store is disabled (storage.enabled: false): nothing to backfill from\n');
    return 1;
  }
  const store = await HistoryStore.open({ path: config.storage.path, retentionMs: config.storage.retention, logger: pino({ level: 'error' }, pino.destination(2)) });
  const from = Math.ceil((now - days * 86_400_000) / stepMs) * stepMs;
  const lines = backfillOpenMetrics({
    tenant: tenant.name, from, to: Math.floor(now / stepMs) * stepMs, stepMs,
    issues: store.issues(tenant.name), transitions: store.serviceTransitions(tenant.name),
  });
  store.close();
  const out = args.output ? createWriteStream(args.output) : process.stdout;
  for (const line of lines) if (!out.write(line)) await once(out, 'drain');
  if (out !== process.stdout) {
    out.end();
    await once(out, 'finish');
  }
  return 0;
}
