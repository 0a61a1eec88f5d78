/**
 * Vitest global setup (vitest.config.ts, vitest.bench.config.ts): the integration tests run built code, the exporter
 * (dist/cli.js, test/helpers/exporterProcess.ts) and the simulator's demo (dist-simulator/demo.js,
 * test/integration/demo.test.ts). So that a plain `npx vitest run` never tests a stale build, a build whose entry point
 * is missing or older than any of its sources is redone first; a compiler error fails the run with tsc's output
 * and emits nothing (--noEmitOnError), so the next run tries again.
 *
 * Every temporary directory of the run (configs, certificates, Prometheus' and Alertmanager's data, the processes'
 * own) is made under one directory of the run's, set as TMPDIR for the workers and every process they start
 * (os.tmpdir() reads it), and removed at the end: a run leaves nothing in the machine's /tmp, where each run used to
 * leave some forty directories behind.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

const BUILDS = [
  { project: 'tsconfig.build.json', sources: 'src', entry: 'dist/cli.js' },
  { project: 'tsconfig.simulator.json', sources: 'simulator', entry: 'dist-simulator/demo.js' },
];

function newestMtimeMs(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((newest, entry) => Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs), 0);
}

function isStale({ sources, entry }: (typeof BUILDS)[number]): boolean {
  const built = join(ROOT, entry);
  return !existsSync(built) || statSync(built).mtimeMs < newestMtimeMs(join(ROOT, sources));
}

export default function setup(): () => void {
  for (const build of BUILDS.filter(isStale)) {
    try {
      execFileSync(process.execPath, [TSC, '-p', build.project, '--noEmitOnError'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: string; stderr?: string };
      throw new Error(`${build.entry} is older than ${build.sources}/ and rebuilding it failed: tsc -p ${build.project}\n${stdout ?? ''}${stderr ?? ''}`, { cause: error });
    }
  }
  const runDir = mkdtempSync(join(tmpdir(), 'm365-test-run-'));
  process.env.TMPDIR = runDir;
  return () => rmSync(runDir, { recursive: true, force: true });
}
