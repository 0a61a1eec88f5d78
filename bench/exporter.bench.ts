/**
 * `npm run bench`: the built exporter against simulated fleets of realistic tenants (40 services, 40 issues of the
 * last 7 days and 60 older, 300 message-center posts each), on the path Prometheus takes: every tenant refreshes
 * between two scrapes. Every time is set against a baseline measured in the same run: a plain node:http server sending
 * the same bytes from a Buffer (for gzip, the exporter's own gzip bytes), in the measuring process and in a process of
 * its own, each timed after a quiet time, as the exporter's scrape is (see quietTimes).
 * Beside it, the static serve of the same text gzipped at once: what compressing tenant by tenant costs.
 *
 * Per fleet size: /metrics (gzip: five scrapes a round) and /probe (ten tenants per round) with and without gzip, with 1 and 4 concurrent
 * scrapers, against the static serve; the longest /-/healthy answer during a scrape (the event loop the scrape leaves to everything else); RSS
 * per tenant above a one-tenant fleet; time to ready. Results: one JSON line per size on stdout and
 * bench/results/latest.json. No time is asserted.
 *
 * BENCH_TENANTS=1,50,500,1000 (default) chooses the sizes; BENCH_ROUNDS=3 the scrape rounds per size;
 * BENCH_SOAK_MINUTES=N adds a soak at the largest size (or BENCH_SOAK_TENANTS): a gzip scrape every 15 s for N minutes;
 * each minute RSS (/proc/PID/status) and the V8 heap, every ten minutes RSS by kind of mapping (/proc/PID/smaps);
 * each scrape timed against the static serve (own process) of its bytes 3 s later, for the gzip ratio of the whole soak.
 * The simulator runs as its own process, so its work does not load the measuring process. The exporter runs with the
 * runtime image's allocator (the Dockerfile preloads jemalloc; the bench needs it installed: apt-get install libjemalloc2).
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { imageNodeMajor, imageRuntimeEnv } from '../test/helpers/imageEnv.js';
import { startExporter, type ExporterProcess } from '../test/helpers/exporterProcess.js';
import { waitFor } from '../test/helpers/wait.js';
import { createStaticServer } from './staticServer.mjs';

const SIZES = (process.env.BENCH_TENANTS ?? '1,50,500,1000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PROBES_PER_ROUND = 10;
/** Gzip scrapes of /metrics per round, one after each fifth of the refresh interval (see the round loop). */
const GZIP_SAMPLES_PER_ROUND = 5;
const SOAK_MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 0);
const SOAK_TENANTS = Number(process.env.BENCH_SOAK_TENANTS ?? Math.max(...SIZES));
const STATIC_SERVER = fileURLToPath(new URL('./staticServer.mjs', import.meta.url));
const HEALTH_POLLER = fileURLToPath(new URL('./healthPoller.mjs', import.meta.url));
/** The runtime image's allocator (Dockerfile): the bench runs the exporter as the image does. */
const IMAGE_ENV = imageRuntimeEnv();
/**
 * The runtime image's Node.js: the bench runs the exporter on the Node.js it runs on itself, and V8's defaults differ
 * between majors (Node.js 24 let a 500-tenant exporter's heap grow to 239 MiB where 20's stayed at 160:
 * docs/performance.md), so a run on another major is told apart in its results and on the console.
 */
const IMAGE_NODE_MAJOR = imageNodeMajor();
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
if (NODE_MAJOR !== IMAGE_NODE_MAJOR) {
  console.warn(`bench: Node.js ${process.version}, where the runtime image runs ${IMAGE_NODE_MAJOR}: put Node.js ${IMAGE_NODE_MAJOR} first on the PATH (.ci/run unpacks it into .tmp/node${IMAGE_NODE_MAJOR}/package/bin)`);
}
const SIMULATOR_CLI = fileURLToPath(new URL('../dist-simulator/cli.js', import.meta.url));
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));
const OPENMETRICS_ACCEPT = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

/** GET with the raw body (never inflated), timed from the request to the last byte. */
function get(url: string, headers: Record<string, string> = {}): Promise<{ ms: number; body: Buffer; status: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    // A failure names the request: a reset seen once at 1000 tenants said only "read ECONNRESET".
    const failed = (error: Error) => reject(new Error(`GET ${url} (${JSON.stringify(headers)}) after ${Math.round(performance.now() - started)} ms: ${error.message}`, { cause: error }));
    request(url, { agent, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ ms: performance.now() - started, body: Buffer.concat(chunks), status: res.statusCode! }));
      res.on('error', failed);
    }).on('error', failed).end();
  });
}

interface StaticServer {
  url: string;
  serve(text: Buffer, gzip: Buffer): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The baseline in the measuring process (./staticServer.mjs). It answers /-/healthy too, so its scrapes are timed
 * under the same health polling as the exporter's (see healthDuring).
 */
async function startStatic(): Promise<StaticServer> {
  const { server, serve } = createStaticServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    serve: async (text, gzip) => serve(text, gzip),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * The same baseline in a process of its own, like the exporter. Only the gzip body crosses (the child inflates the
 * text from it when `text` is not empty), by IPC: no file written, so no disk writeback disturbs the measurements
 * that follow.
 */
async function startStaticProcess(): Promise<StaticServer> {
  const child = fork(STATIC_SERVER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const next = () => new Promise<unknown>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', reject);
  }).finally(() => child.removeAllListeners('exit'));
  const { port } = (await next()) as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    serve: async (text, gzip) => {
      child.send({ gzip, withText: text.length > 0 });
      await next();
    },
    stop: async () => void child.kill(),
  };
}

interface SimulatorProcess {
  url: string;
  caCertPem: string;
  tenants: Array<{ tenantId: string; clientId: string }>;
  process: ChildProcess;
}

async function startSimulatorProcess(tenants: number, dir: string): Promise<SimulatorProcess> {
  const caFile = join(dir, 'ca.pem');
  const child = spawn(process.execPath, [SIMULATOR_CLI, '--port', '0', '--tenants', String(tenants), '--profile', 'realistic', '--no-throttling', '--ca-out', caFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const started = await waitFor('the simulator to start', () => {
    if (child.exitCode !== null) throw new Error(`simulator exited with ${child.exitCode}`);
    return out.includes('\n') ? (JSON.parse(out.split('\n')[0]!) as { url: string; tenants: SimulatorProcess['tenants'] }) : undefined;
  }, 120_000, 100);
  return { url: started!.url, caCertPem: readFileSync(caFile, 'utf8'), tenants: started!.tenants, process: child };
}

/**
 * The quiet time before each timed gzip request: a fifth of a round cut in parts, one before the exporter's
 * scrape and one before each baseline's serve of the same bytes, for the server and the measuring client alike.
 * Prometheus' scrape comes after a quiet interval; a server timed right after it was handed the bytes (by IPC, or a
 * call in the measuring process) answers from a process just woken, its caches warm with the very bytes (500 tenants'
 * body: 3.5–3.9 ms at once, 4.5–5.0 ms after 0.25, 1 or 2 s of quiet on the bench machine; a longer pause changed
 * nothing more), and a client that waited the round's fifth before the exporter's scrape and not before the
 * baselines' woke for the exporter only. A baseline's part is at most 3 s and the exporter's takes the rest: a pause
 * near Node.js's keep-alive timeout (5 s) sends the request on a connection the server is closing (ECONNRESET, once
 * at 1000 tenants with 4.1 s). The timing at once, the bench's baseline until this was found, is recorded too
 * (`*GzipAwake`).
 */
function quietTimes(intervalS: number, baselines: number): { exporterMs: number; baselineMs: number } {
  const fifthMs = ((intervalS + 2) * 1_000) / GZIP_SAMPLES_PER_ROUND;
  const baselineMs = Math.min(3_000, fifthMs / (baselines + 1));
  return { exporterMs: fifthMs - baselines * baselineMs, baselineMs };
}

function middleOf(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** A ratio as the results give it: to the hundredth. */
function hundredths(value: number): number {
  return Math.round(value * 100) / 100;
}

function stats(values: number[]): { median: number; max: number } {
  const round = (n: number) => Math.round(n * 10) / 10;
  return { median: round(middleOf(values)), max: round(Math.max(...values)) };
}

/**
 * How fast this machine is at the moment: the median time of a fixed CPU-bound loop. This project's machine is a VM
 * whose speed moves with its host: the same loop, run ten times in a row on an idle machine, took 543-1031 ms
 * (a loop of 3e8 steps, 2026-12-04). Reported before and after each fleet size, so runs can be read against it.
 */
function referenceLoopMs(): number {
  const times: number[] = [];
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    let sum = 0;
    for (let i = 0; i < 3e7; i++) sum += i % 7;
    if (sum < 0) throw new Error('unreachable: keeps the loop from being optimised away');
    times.push(performance.now() - started);
  }
  return stats(times).median;
}

/** The health poller (./healthPoller.mjs), started with the first scrape it times. */
let poller: { child: ChildProcess; next(): Promise<Record<string, unknown>> } | undefined;

async function startPoller(): Promise<NonNullable<typeof poller>> {
  const child = fork(HEALTH_POLLER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<Record<string, unknown>>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', () => reject(new Error('the health poller exited')));
  }).finally(() => child.removeAllListeners('exit'));
  await next();
  return { child, next };
}

/**
 * Polls /-/healthy every 10 ms while `during` runs, from a process of its own (./healthPoller.mjs); the slowest answer
 * is how long the server's event loop stalled. Scrapes of the exporter and of the static baseline are both timed under
 * this polling, so the ratio compares two servers answering the same requests.
 */
async function healthDuring<T>(serverUrl: string, during: () => Promise<T>): Promise<{ result: T; maxHealthyMs: number }> {
  poller ??= await startPoller();
  const { child, next } = poller;
  child.send({ start: serverUrl });
  await next();
  const result = await during();
  child.send({ stop: true });
  const { maxMs, error } = (await next()) as { maxMs: number; error?: string };
  if (error) throw new Error(`polling ${serverUrl}/-/healthy failed: ${error}`);
  return { result, maxHealthyMs: maxMs };
}

/** The exporter's value of an unlabelled sample, read from its text. */
function sampleValue(text: string, name: string): number {
  const match = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return match ? Number(match[1]) : Number.NaN;
}

/** The oldest last-success time of any tenant and collector, to prove every tenant refreshed between two scrapes. */
function oldestLastSuccess(text: string): number {
  let oldest = Infinity;
  for (const match of text.matchAll(/^m365_exporter_collector_last_success_timestamp_seconds\{[^}]*\} (\S+)$/gm)) oldest = Math.min(oldest, Number(match[1]));
  return oldest;
}

/** What the exporter logged of the collection it runs once ready: how long it held the event loop, RSS before and after. */
function releasedAtReady(logs: readonly string[]): { heldMs: number; rssMiBBefore: number; rssMiBAfter: number } | undefined {
  const line = logs.find((l) => l.includes('"msg":"ready: released the memory of the first refreshes"'));
  if (!line) return undefined;
  const { heldMs, rssMiBBefore, rssMiBAfter } = JSON.parse(line) as Record<string, number>;
  return { heldMs: heldMs!, rssMiBBefore: rssMiBBefore!, rssMiBAfter: rssMiBAfter! };
}

/** One minute of a soak: RSS as the kernel counts it, the exporter's V8 heap, and every ten minutes where RSS sits. */
interface SoakMinute {
  rssMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  mappingsMiB?: Record<MappingKind, number>;
}

function soakMinute(pid: number, gzipBody: Buffer, withMappings: boolean): SoakMinute {
  // The process metrics come last in the stream (src/exposition/store.ts); the whole is inflated here, in the
  // measuring process, never by the exporter.
  const text = gunzipSync(gzipBody).toString();
  const tail = text.slice(text.lastIndexOf('# HELP nodejs_heap_size_total_bytes'));
  const mib = (bytes: number) => Math.round(bytes / 2 ** 20);
  return {
    rssMiB: mib(Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024),
    heapUsedMiB: mib(sampleValue(tail, 'nodejs_heap_size_used_bytes')),
    heapTotalMiB: mib(sampleValue(tail, 'nodejs_heap_size_total_bytes')),
    ...(withMappings && { mappingsMiB: residentByMapping(pid) }),
  };
}

type MappingKind = 'smallAnonymous' | 'webAssembly' | 'otherAnonymous' | 'nodeBinary' | 'otherFiles';

/**
 * Resident memory by kind of mapping (/proc/PID/smaps: https://www.kernel.org/doc/html/latest/filesystems/proc.html):
 * small anonymous mappings (up to 256 KiB: V8's pages of both threads' heaps, small allocator extents); WebAssembly
 * memories (the history store's database: an anonymous mapping followed by its inaccessible reservation of more than
 * 4 GiB); other anonymous memory (the allocator's larger extents: buffers, zlib's states); the node binary; other files.
 */
function residentByMapping(pid: number): Record<MappingKind, number> {
  const mappings: Array<{ start: number; end: number; perms: string; path: string; rssKiB: number }> = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (range) mappings.push({ start: parseInt(range[1]!, 16), end: parseInt(range[2]!, 16), perms: range[3]!, path: range[4]!.trim(), rssKiB: 0 });
    else if (line.startsWith('Rss:')) mappings.at(-1)!.rssKiB = Number(line.split(/\s+/)[1]);
  }
  const kib: Record<MappingKind, number> = { smallAnonymous: 0, webAssembly: 0, otherAnonymous: 0, nodeBinary: 0, otherFiles: 0 };
  mappings.forEach((m, i) => {
    const next = mappings[i + 1];
    const kind: MappingKind = m.path.endsWith('/node') ? 'nodeBinary'
      : m.path ? 'otherFiles'
      : next && next.start === m.end && next.perms === '---p' && next.end - next.start > 4 * 2 ** 30 ? 'webAssembly'
      : m.end - m.start <= 256 * 1024 ? 'smallAnonymous' : 'otherAnonymous';
    kib[kind] += m.rssKiB;
  });
  return Object.fromEntries(Object.entries(kib).map(([kind, value]) => [kind, Math.round(value / 1024)])) as Record<MappingKind, number>;
}

const results: unknown[] = [];
let rssOneTenant: number | undefined;

afterAll(() => {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, imageNodeMajor: IMAGE_NODE_MAJOR, exporterEnv: IMAGE_ENV, results }, null, 2)}\n`);
  writeFileSync(join(RESULTS, 'latest.md'), markdownTable(results as BenchResult[]));
  agent.destroy();
  poller?.child.kill();
});

type BenchResult = {
  tenants: number; listenS: number; readyS: number; exposition: { textMiB: number; gzipBytes: number; staticGzipBytes: number; samples: number };
  ms: Record<string, { median: number }>; ratio: Record<string, number>; ratioOwnProcess: Record<string, number>; pairedRatioOwnProcess: { metricsGzip: number }; referenceLoopMs: { before: number; after: number };
  maxHealthyDuringScrapeMs: number; maxHealthyDuringTextScrapesMs: number; rssMiB: number;
  heapUsedMiB: number; rssPerTenantMiB?: number; cpuPercent?: number;
};

/**
 * The README's table: one row per fleet size; for each path, exporter / static server in a process of its own (the
 * like-for-like ratio), and in brackets the ratio to the static server in the measuring process.
 */
function markdownTable(rows: BenchResult[]): string {
  const ms = (r: BenchResult, key: string) => r.ms[key]!.median;
  const path = (r: BenchResult, key: string, staticKey: string, bold = false) => {
    const own = `${staticKey[0]!.toUpperCase()}${staticKey.slice(1)}`;
    const ratio = bold ? `**${r.ratioOwnProcess[key]}×**` : `${r.ratioOwnProcess[key]}×`;
    return `${ms(r, key)} / ${ms(r, `own${own}`)} ms = ${ratio} (${r.ratio[key]}×)`;
  };
  const lines = [
    '| Tenants | Reference loop before / after | Samples | Text | Gzip (at once) | Listening / ready | /metrics gzip: exporter / static | /metrics gzip: static serve of the text gzipped at once | /metrics text | 4 scrapers gzip | 4 scrapers text | /probe gzip | /probe text | 4 probes at once, gzip | 4 probes at once, text | Longest /-/healthy during a gzip scrape (4 text scrapes) | Exporter CPU | RSS (heap) | RSS per tenant |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.tenants} | ${r.referenceLoopMs.before} / ${r.referenceLoopMs.after} ms | ${r.exposition.samples.toLocaleString('en')} | ${r.exposition.textMiB} MiB | ${(r.exposition.gzipBytes / 2 ** 20).toFixed(2)} (${(r.exposition.staticGzipBytes / 2 ** 20).toFixed(2)}) MiB | ${r.listenS.toFixed(1)} / ${r.readyS.toFixed(1)} s `
      + `| ${path(r, 'metricsGzip', 'gzip', true)}; median of each scrape's ratio: ${r.pairedRatioOwnProcess.metricsGzip}×; static timed at once: ${r.ratioOwnProcess.metricsGzipAwake}× (${r.ratio.metricsGzipAwake}×) | ${ms(r, 'ownGzipOnce')} ms (exporter ${r.ratioOwnProcess.metricsGzipOnce}×) | ${path(r, 'metricsText', 'text')} | ${path(r, 'metricsGzip4', 'gzip4')} | ${path(r, 'metricsText4', 'text4')} | ${path(r, 'probeGzip', 'probeGzip', true)} `
      + `| ${path(r, 'probeText', 'probeText')} | ${path(r, 'probeGzip4', 'probeGzip4')} | ${path(r, 'probeText4', 'probeText4')} | ${r.maxHealthyDuringScrapeMs} (${r.maxHealthyDuringTextScrapesMs}) ms | ${r.cpuPercent ?? '–'} % `
      + `| ${r.rssMiB} (${r.heapUsedMiB}) MiB | ${r.rssPerTenantMiB ?? '–'} MiB |`),
  ];
  return `${lines.join('\n')}\n`;
}

describe('exporter at fleet scale (realistic tenants)', () => {
  for (const size of SIZES) {
    it(`${size} tenants`, async () => {
      const referenceBeforeMs = referenceLoopMs();
      const dir = mkdtempSync(join(tmpdir(), 'm365-bench-'));
      const sim = await startSimulatorProcess(size, dir);
      // The baseline twice: in the measuring process (as since the first bench) and in a process of its own, which
      // pays what the exporter pays for being another process.
      const baselines = [{ key: 'static', server: await startStatic() }, { key: 'own', server: await startStaticProcess() }];
      // Every tenant refreshes each collector once per interval; scrapes are one interval plus a margin apart. Fleets
      // refresh at Prometheus' default scrape interval, 60 s (the issue's "what Prometheus at 60 s sees"); small ones
      // faster, to keep the run short.
      const intervalS = size >= 500 ? 60 : 15;
      let exporter: ExporterProcess | undefined;
      try {
        const started = Date.now();
        exporter = await startExporter({
          refresh: { health: `${intervalS}s`, issues: `${intervalS}s`, messages: `${intervalS}s` },
          readyTimeout: '30m',
          tenants: sim.tenants.map((t, i) => ({
            name: `tenant${String(i).padStart(4, '0')}`, tenantId: t.tenantId, clientId: t.clientId, clientSecret: 'simulator-secret',
            authorityHost: sim.url, graphEndpoint: sim.url,
          })),
        }, sim.caCertPem, [], IMAGE_ENV);
        // Until it listens: what a liveness probe waits for.
        const listenS = (Date.now() - started) / 1_000;
        const url = exporter.url;
        await waitFor('every tenant to refresh', async () => (await fetch(`${url}/-/ready`)).ok, 1_800_000, 200);
        const readyS = (Date.now() - started) / 1_000;

        const times: Record<string, number[]> = {};
        const add = (key: string, ms: number) => (times[key] ??= []).push(ms);
        let healthyMaxMs = 0;
        let healthyMaxTextMs = 0;
        /** Each gzip scrape's time over the static serve's (in its own process) seconds after it. */
        const gzipPairRatios: number[] = [];
        let refreshedBetweenScrapes = true;
        let sizes = { textBytes: 0, gzipBytes: 0, staticGzipBytes: 0, samples: 0 };
        let exporterGzip: Buffer = Buffer.alloc(0);
        let previousScrape = Date.now() / 1_000;
        let rss = 0;
        const rssByRound: number[] = [];
        let heap = 0;
        let heapTotal = 0;
        let external = 0;
        // The exporter's CPU between the first and the last scrape: how busy its one event loop is with refreshes.
        const cpuSeconds: Array<{ at: number; seconds: number }> = [];
        const { exporterMs, baselineMs } = quietTimes(intervalS, baselines.length);
        for (let round = 0; round < ROUNDS; round++) {
          // The path users hit: a scrape after tenants refreshed. The round's wait is cut in fifths, each holding a gzip
          // scrape (a fifth of the fleet refreshed since the one before, so none is a warm repeat) and the static serves
          // of its bytes, each after a quiet time (quietTimes): five like-for-like samples a round, where one
          // sample a round left the median of three rounds to the noise of three moments.
          for (let sample = 0; sample < GZIP_SAMPLES_PER_ROUND; sample++) {
            await sleep(exporterMs);
            const { result: gz, maxHealthyMs } = await healthDuring(url, () => get(`${url}/metrics`, { Accept: OPENMETRICS_ACCEPT, 'Accept-Encoding': 'gzip' }));
            healthyMaxMs = Math.max(healthyMaxMs, maxHealthyMs);
            add('metricsGzip', gz.ms);
            exporterGzip = gz.body;
            for (const { key, server } of baselines) {
              // No text: the gzip serve is all this pairing times (see startStaticProcess).
              await server.serve(Buffer.alloc(0), gz.body);
              const scrapeStatic = async () => (await healthDuring(server.url, () => get(server.url, { 'Accept-Encoding': 'gzip' }))).result.ms;
              // Timed at once, as until this stop, and after a quiet time (see quietTimes).
              add(`${key}GzipAwake`, await scrapeStatic());
              await sleep(baselineMs);
              const quietMs = await scrapeStatic();
              add(`${key}Gzip`, quietMs);
              // Each scrape's own ratio too: the pair is seconds apart, so a slow spell of the machine (above) weighs
              // on both sides of it, where the ratio of the medians sets moments minutes apart against each other.
              if (key === 'own') gzipPairRatios.push(gz.ms / quietMs);
            }
          }
          const plain = await get(`${url}/metrics`, { Accept: OPENMETRICS_ACCEPT, 'Accept-Encoding': 'identity' });
          add('metricsText', plain.ms);
          // Four scrapers at once (Prometheus HA pairs, a federation, a person with curl): until the last answer ends.
          const four = async (target: string, encoding: string) => {
            const t0 = performance.now();
            await Promise.all(Array.from({ length: 4 }, () => get(target, { Accept: OPENMETRICS_ACCEPT, 'Accept-Encoding': encoding })));
            return performance.now() - t0;
          };
          // Decoded once: 140 MiB at 1000 tenants, whose copies would load the measuring process's heap before the static serves.
          const plainText = plain.body.toString();
          if (oldestLastSuccess(plainText) < previousScrape - 1) refreshedBetweenScrapes = false;
          previousScrape = Date.now() / 1_000;
          rss = sampleValue(plainText, 'process_resident_memory_bytes');
          rssByRound.push(Math.round(rss / 2 ** 20));
          heap = sampleValue(plainText, 'nodejs_heap_size_used_bytes');
          heapTotal = sampleValue(plainText, 'nodejs_heap_size_total_bytes');
          external = sampleValue(plainText, 'nodejs_external_memory_bytes');
          cpuSeconds.push({ at: Date.now() / 1_000, seconds: sampleValue(plainText, 'process_cpu_seconds_total') });
          // The exporter's stream is compressed tenant by tenant at refresh time; what the same text costs gzipped at
          // once is reported beside it (size, and the static serve of it in a process of its own).
          const staticGzip = gzipSync(plain.body);
          sizes = { textBytes: plain.body.length, gzipBytes: exporterGzip.length, staticGzipBytes: staticGzip.length, samples: plainText.split('\n').filter((l) => l && !l.startsWith('#')).length };
          // Only the stream's start is inflated (the process metrics, stored uncompressed): the whole is 140 MiB at 1000
          // tenants, which would load the measuring process before the static serves.
          const gzipStart = gunzipSync(exporterGzip.subarray(0, 1024), { finishFlush: constants.Z_SYNC_FLUSH });
          if (!gzipStart.subarray(0, 64).equals(plain.body.subarray(0, 64))) throw new Error('the gzip and text scrapes differ in their first bytes');
          for (const { key, server } of baselines) {
            await server.serve(plain.body, staticGzip);
            if (key === 'own') {
              // Quiet first, as the gzip serves above are (quietTimes).
              await sleep(1_000);
              add('ownGzipOnce', (await healthDuring(server.url, () => get(server.url, { 'Accept-Encoding': 'gzip' }))).result.ms);
            }
            add(`${key}Text`, (await get(server.url, { 'Accept-Encoding': 'identity' })).ms);
            // The 4-scraper baseline serves the exporter's own gzip bytes, as the single-scraper one does.
            await server.serve(Buffer.alloc(0), exporterGzip);
          }

          const { result: fourMs, maxHealthyMs: fourHealthy } = await healthDuring(url, () => four(`${url}/metrics`, 'gzip'));
          healthyMaxMs = Math.max(healthyMaxMs, fourHealthy);
          add('metricsGzip4', fourMs);
          for (const { key, server } of baselines) {
            add(`${key}Gzip4`, (await healthDuring(server.url, () => four(server.url, 'gzip'))).result);
          }

          // A probe is small (a realistic tenant: 0.14 MiB of text, 12 KiB gzipped), so one timing is mostly the noise of
          // its moment: ten tenants per round, each paired with the static serve of its own bytes right after it.
          for (let k = 0; k < Math.min(size, PROBES_PER_ROUND); k++) {
            const probeUrl = `${url}/probe?tenant=tenant${String(Math.floor((k * size) / Math.min(size, PROBES_PER_ROUND))).padStart(4, '0')}`;
            const probe = await get(probeUrl, { Accept: OPENMETRICS_ACCEPT, 'Accept-Encoding': 'identity' });
            add('probeText', probe.ms);
            const probeGz = await get(probeUrl, { Accept: OPENMETRICS_ACCEPT, 'Accept-Encoding': 'gzip' });
            add('probeGzip', probeGz.ms);
            // Four probes at once (Prometheus probes its targets concurrently), of the same tenant: the static server
            // holds one body, and a probe's cost does not depend on which tenant it names.
            add('probeGzip4', await four(probeUrl, 'gzip'));
            add('probeText4', await four(probeUrl, 'identity'));
            for (const { key, server } of baselines) {
              await server.serve(probe.body, probeGz.body);
              add(`${key}ProbeText`, (await get(server.url, { 'Accept-Encoding': 'identity' })).ms);
              add(`${key}ProbeGzip`, (await get(server.url, { 'Accept-Encoding': 'gzip' })).ms);
              add(`${key}ProbeGzip4`, await four(server.url, 'gzip'));
              add(`${key}ProbeText4`, await four(server.url, 'identity'));
            }
          }

          // Four plain-text scrapes at once, last in the round: each inflates a copy of the stream (140 MiB at 1000
          // tenants) in libuv's thread pool, and the exporter collects what they leave in the seconds after, which here
          // falls outside the gzip and probe timings. (Run before the 4-scraper gzip scrapes, they were suspected of
          // raising those scrapes' longest /-/healthy at 1000 tenants; moved here, it stayed as it was: the machine's
          // speed, not they, had moved it; docs/performance.md.) A plain-text scraper is rare but legitimate; its own
          // column says how long the event loop waited meanwhile.
          const { result: fourTextMs, maxHealthyMs: fourTextHealthy } = await healthDuring(url, () => four(`${url}/metrics`, 'identity'));
          add('metricsText4', fourTextMs);
          healthyMaxTextMs = Math.max(healthyMaxTextMs, fourTextHealthy);
          for (const { key, server } of baselines) {
            await server.serve(plain.body, staticGzip);
            add(`${key}Text4`, await four(server.url, 'identity'));
          }
        }
        if (size === 1) rssOneTenant = rss;
        const median = (key: string) => stats(times[key]!).median;
        const ratio = (a: string, b: string) => hundredths(median(a) / median(b));
        const result = {
          tenants: size,
          refreshIntervalS: intervalS,
          rounds: ROUNDS,
          listenS,
          readyS,
          // The one memory-reducing collection once ready (src/runtime/heap.ts), as the exporter logged it.
          releasedAtReady: releasedAtReady(exporter.logs),
          refreshedBetweenScrapes,
          exposition: { ...sizes, textMiB: Math.round((sizes.textBytes / 2 ** 20) * 10) / 10 },
          ms: Object.fromEntries(Object.keys(times).map((key) => [key, stats(times[key]!)])),
          ratio: {
            metricsGzip: ratio('metricsGzip', 'staticGzip'),
            metricsGzipAwake: ratio('metricsGzip', 'staticGzipAwake'),
            metricsText: ratio('metricsText', 'staticText'),
            metricsGzip4: ratio('metricsGzip4', 'staticGzip4'),
            metricsText4: ratio('metricsText4', 'staticText4'),
            probeGzip: ratio('probeGzip', 'staticProbeGzip'),
            probeText: ratio('probeText', 'staticProbeText'),
            probeGzip4: ratio('probeGzip4', 'staticProbeGzip4'),
            probeText4: ratio('probeText4', 'staticProbeText4'),
          },
          ratioOwnProcess: {
            metricsGzip: ratio('metricsGzip', 'ownGzip'),
            metricsGzipAwake: ratio('metricsGzip', 'ownGzipAwake'),
            metricsGzipOnce: ratio('metricsGzip', 'ownGzipOnce'),
            metricsText: ratio('metricsText', 'ownText'),
            metricsGzip4: ratio('metricsGzip4', 'ownGzip4'),
            metricsText4: ratio('metricsText4', 'ownText4'),
            probeGzip: ratio('probeGzip', 'ownProbeGzip'),
            probeText: ratio('probeText', 'ownProbeText'),
            probeGzip4: ratio('probeGzip4', 'ownProbeGzip4'),
            probeText4: ratio('probeText4', 'ownProbeText4'),
          },
          pairedRatioOwnProcess: { metricsGzip: hundredths(middleOf(gzipPairRatios)) },
          referenceLoopMs: { before: referenceBeforeMs, after: referenceLoopMs() },
          maxHealthyDuringScrapeMs: Math.round(healthyMaxMs * 10) / 10,
          maxHealthyDuringTextScrapesMs: Math.round(healthyMaxTextMs * 10) / 10,
          cpuPercent: cpuSeconds.length > 1
            ? Math.round(((cpuSeconds.at(-1)!.seconds - cpuSeconds[0]!.seconds) / (cpuSeconds.at(-1)!.at - cpuSeconds[0]!.at)) * 100) : undefined,
          rssMiB: Math.round(rss / 2 ** 20),
          rssMiBByRound: rssByRound,
          heapUsedMiB: Math.round(heap / 2 ** 20),
          // Where the RSS goes: V8's heap as sized (used and free), memory outside it held by JavaScript objects (buffers,
          // the history store's database), and the rest (the binary, native allocations).
          heapTotalMiB: Math.round(heapTotal / 2 ** 20),
          externalMiB: Math.round(external / 2 ** 20),
          rssPerTenantMiB: rssOneTenant !== undefined && size > 1 ? Math.round(((rss - rssOneTenant) / (size - 1) / 2 ** 20) * 1000) / 1000 : undefined,
          soak: undefined as unknown,
        };
        if (SOAK_MINUTES > 0 && size === SOAK_TENANTS) {
          // Only gzip scrapes, as Prometheus sends: each minute's reading comes from the kernel and from the minute's
          // own gzip scrape, where it once came from a plain-text scrape, which inflated the whole text in the exporter
          // each minute and left its garbage in every reading after (docs/performance.md).
          // Each scrape is paired with the static serve (own process) of its bytes 3 s later, as in a round: an hour
          // gives the gzip ratio of some 240 scrapes under refresh load, where a round gives fifteen.
          const pid = exporter.process.pid!;
          const own = baselines.find(({ key }) => key === 'own')!.server;
          const byMinute: SoakMinute[] = [];
          const scrapeMs: number[] = [];
          const staticMs: number[] = [];
          const end = Date.now() + SOAK_MINUTES * 60_000;
          let nextSample = Date.now();
          while (Date.now() < end) {
            const started = Date.now();
            const scrape = await get(`${url}/metrics`, { Accept: OPENMETRICS_ACCEPT, 'Accept-Encoding': 'gzip' });
            expect(scrape.status).toBe(200);
            scrapeMs.push(scrape.ms);
            if (Date.now() >= nextSample) {
              byMinute.push(soakMinute(pid, scrape.body, byMinute.length % 10 === 0));
              nextSample += 60_000;
            }
            await own.serve(Buffer.alloc(0), scrape.body);
            await sleep(3_000);
            staticMs.push((await get(own.url, { 'Accept-Encoding': 'gzip' })).ms);
            await sleep(Math.max(0, started + 15_000 - Date.now()));
          }
          const [exporterMs, ownMs] = [middleOf(scrapeMs), middleOf(staticMs)];
          result.soak = {
            minutes: SOAK_MINUTES,
            scrapeEveryS: 15,
            gzip: {
              scrapes: scrapeMs.length,
              exporterMs: hundredths(exporterMs),
              staticMs: hundredths(ownMs),
              ratio: hundredths(exporterMs / ownMs),
              pairedRatio: hundredths(middleOf(scrapeMs.map((ms, i) => ms / staticMs[i]!))),
            },
            rssMiBByMinute: byMinute.map((m) => m.rssMiB),
            byMinute,
          };
        }
        results.push(result);
        console.log(JSON.stringify(result));
        expect(sizes.samples).toBeGreaterThan(size * 1_000);
      } finally {
        await exporter?.stop();
        sim.process.kill('SIGTERM');
        for (const { server } of baselines) await server.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }, 3_600_000 + SOAK_MINUTES * 60_000);
  }
});
