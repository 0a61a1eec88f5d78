import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, fetch, type RequestInit, type Response } from 'undici';
import { stringify } from 'yaml';
import { parseExposition, type ParsedSample } from './exposition.js';
import { waitFor } from './wait.js';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** How tests reach an exporter with a web config: the CA its certificate chains to, a client certificate, basic auth. */
export interface ExporterClient {
  ca?: string;
  cert?: string;
  key?: string;
  username?: string;
  password?: string;
}

export interface ExporterProcess {
  url: string;
  logs: string[];
  process: ChildProcess;
  /** The config file the exporter runs with: tests rewrite it and reload. */
  configPath: string;
  /** fetch with the client's TLS settings and credentials. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  scrape(path?: string): Promise<string>;
  samples(path?: string): Promise<ParsedSample[]>;
  stop(): Promise<number | null>;
}

/**
 * Runs the built exporter (dist/cli.js) as a real child process, trusting the simulator's CA as a user would. Tests
 * start it through ./stack.ts, which also starts what it talks to; `stop()` removes its temporary config directory.
 * OTEL_* variables of the test's own environment are not passed on (they configure the OTLP push); `env` adds
 * variables for this process.
 */
export async function startExporter(
  config: Record<string, unknown>,
  caCertPem: string,
  extraArgs: string[] = [],
  extraEnv: Record<string, string> = {},
  client: ExporterClient = {},
): Promise<ExporterProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'm365-exporter-'));
  const configPath = join(dir, 'config.yml');
  const caPath = join(dir, 'ca.pem');
  writeFileSync(configPath, stringify(config));
  writeFileSync(caPath, caCertPem);
  // JSON logs, which the tests parse; the default is logfmt.
  const child = spawn(process.execPath, [CLI, '--config.file', configPath, '--web.listen-address', '127.0.0.1:0', '--log.format', 'json', ...extraArgs], {
    // A proxy of the machine running the tests must not stand between the exporter and the loopback simulator; its
    // OTEL_* variables must not configure the exporter under test.
    env: { ...Object.fromEntries(Object.entries(withoutProxy(process.env)).filter(([name]) => !name.startsWith('OTEL_'))), NODE_EXTRA_CA_CERTS: caPath, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
    // The default history store (data/ of the working directory) is then the test's own, removed with it.
    cwd: dir,
  });
  const logs: string[] = [];
  let buffered = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    logs.push(...lines);
  });
  child.stdout!.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const dispatcher = new Agent({ connect: { ca: client.ca, cert: client.cert, key: client.key } });

  let stopping: Promise<number | null> | undefined;
  // Tests may stop the exporter themselves before the stack does: the second call gets the first one's answer.
  const stop = () => (stopping ??= (async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    const code = await exited;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
    await dispatcher.close();
    return code;
  })());

  const url = await waitFor('the exporter to listen', () => {
    if (child.exitCode !== null) throw new Error(`exporter exited with ${child.exitCode}: ${logs.join('\n')}`);
    for (const line of logs) {
      const address = line.startsWith('{') ? (JSON.parse(line) as { msg?: string; address?: string }) : undefined;
      if (address?.msg === 'listening') return address.address;
    }
    return undefined;
  }, 15_000, 50).catch(async (error: unknown) => {
    await stop();
    throw error;
  });

  const authorization = client.username === undefined ? {} : { Authorization: `Basic ${Buffer.from(`${client.username}:${client.password}`).toString('base64')}` };
  const fetchWithClient = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { ...authorization, ...(init.headers as Record<string, string>) }, dispatcher });
  const scrape = async (path = '/metrics') => {
    const response = await fetchWithClient(path);
    if (!response.ok) throw new Error(`${path}: HTTP ${response.status}: ${await response.text()}`);
    return response.text();
  };
  return {
    url: url!,
    logs,
    process: child,
    configPath,
    fetch: fetchWithClient,
    scrape,
    samples: async (path) => parseExposition(await scrape(path)),
    stop,
  };
}

function withoutProxy(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !/^(https?|no)_proxy$/i.test(name)));
}

export function tenantConfig(name: string, sim: { url: string }, tenant: { tenantId: string; clientId: string; clientSecret?: string }, extra: Record<string, unknown> = {}) {
  return {
    name,
    tenantId: tenant.tenantId,
    clientId: tenant.clientId,
    clientSecret: tenant.clientSecret,
    authorityHost: sim.url,
    graphEndpoint: sim.url,
    ...extra,
  };
}
