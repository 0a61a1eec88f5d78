import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

export interface RunningBinary {
  url: string;
  dir: string;
  output: string[];
  stop(): Promise<void>;
}

async function run(name: string, command: string, args: (port: number, dir: string) => string[], readyPath: string): Promise<RunningBinary> {
  const dir = mkdtempSync(join(tmpdir(), `m365-${name}-`));
  const port = await freePort();
  const output: string[] = [];
  const child: ChildProcess = spawn(command, args(port, dir), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (c: Buffer) => output.push(c.toString()));
  child.stderr!.on('data', (c: Buffer) => output.push(c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${name} to be ready`, async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${output.join('').slice(-2000)}`);
    return (await fetch(`${url}${readyPath}`)).ok;
  }, 30_000, 200);
  return {
    url,
    dir,
    output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface PrometheusOptions {
  /** host:port targets (several: one job scraping several instances) with their metrics path. */
  /** `settings`: more of the scrape config, such as scheme, tls_config, basic_auth. */
  scrape: Array<{ job: string; target: string | string[]; path?: string; params?: Record<string, string[]>; settings?: Record<string, unknown> }>;
  scrapeInterval?: string;
  evaluationInterval?: string;
  ruleFiles?: string[];
  alertmanager?: string;
  /** A TSDB directory to start from (blocks made by `promtool tsdb create-blocks-from`); default a new one. */
  dataDir?: string;
}

/** The real Prometheus (Debian package) with its own config and data directory on a free loopback port. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningBinary & { query(expr: string): Promise<PromVector> }> {
  const config = {
    global: { scrape_interval: options.scrapeInterval ?? '1s', evaluation_interval: options.evaluationInterval ?? '1s' },
    rule_files: options.ruleFiles ?? [],
    ...(options.alertmanager ? { alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] } } : {}),
    scrape_configs: options.scrape.map((s) => ({
      job_name: s.job, metrics_path: s.path ?? '/metrics', ...(s.params ? { params: s.params } : {}), ...s.settings, static_configs: [{ targets: [s.target].flat() }],
    })),
  };
  const running = await run('prometheus', 'prometheus', (port, dir) => {
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    return [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${options.dataDir ?? join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
  }, '/-/ready');
  return {
    ...running,
    async query(expr: string) {
      const response = await fetch(`${running.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
      const body = (await response.json()) as { status: string; error?: string; data: { resultType: string; result: PromVector } };
      if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`);
      return body.data.result;
    },
  };
}

export type PromVector = Array<{ metric: Record<string, string>; value: [number, string] }>;

/** The real Alertmanager (Debian's prometheus-alertmanager) with the given config file, on a free port. */
export async function startAlertmanager(configFile: string): Promise<RunningBinary> {
  return run('alertmanager', 'prometheus-alertmanager', (port, dir) => [
    `--config.file=${configFile}`, `--storage.path=${dir}`, `--web.listen-address=127.0.0.1:${port}`,
    '--cluster.listen-address=', '--log.level=warn',
  ], '/-/ready');
}

/**
 * A copy of alerts/alertmanager.yml that keeps routes, grouping and inhibitions, points every receiver with webhooks at
 * `<webhook>/<receiver name>` and sends at once (group_wait 0s unless given, group_interval 1s). Returns the file's path.
 */
export function alertmanagerConfigFor(webhook: { url: string }, groupWait = '0s'): string {
  const config = parse(readFileSync(new URL('../../alerts/alertmanager.yml', import.meta.url), 'utf8')) as {
    route: Record<string, unknown>;
    receivers: Array<{ name: string; webhook_configs?: Array<{ url: string }> }>;
  };
  Object.assign(config.route, { group_wait: groupWait, group_interval: '1s', repeat_interval: '1h' });
  for (const receiver of config.receivers) for (const hook of receiver.webhook_configs ?? []) hook.url = `${webhook.url}/${receiver.name}`;
  return writeTemp('alertmanager.yml', stringify(config));
}

/**
 * A copy of alerts/m365-rules.yml with every alert's `for` set to 0s (expressions and thresholds unchanged), for tests
 * that cannot wait minutes; the promtool unit tests cover the real `for` values. Returns the file's path.
 */
export function rulesWithoutFor(): string {
  const rules = parse(readFileSync(new URL('../../alerts/m365-rules.yml', import.meta.url), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; for?: string }> }> };
  for (const group of rules.groups) for (const rule of group.rules) if (rule.alert) rule.for = '0s';
  return writeTemp('m365-rules.yml', stringify(rules));
}

export function writeTemp(name: string, text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'm365-')), name);
  writeFileSync(path, text);
  return path;
}
