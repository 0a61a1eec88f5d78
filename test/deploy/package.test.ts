/**
 * The published package and the runtime install hold the exporter only: the simulated tenant (simulator/) is a test
 * double with its own build (dist-simulator/), and its one dependency (selfsigned) is a dev dependency.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

describe('npm package', () => {
  it('contains no simulator file', () => {
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as Array<{ files: Array<{ path: string }> }>;
    const paths = packed!.files.map((f) => f.path);
    expect(paths).toContain('dist/cli.js');
    expect(paths.filter((path) => path.includes('simulator'))).toEqual([]);
  });

  it('installs selfsigned, which only the simulator uses, as a dev dependency', () => {
    expect(Object.keys(pkg.dependencies)).not.toContain('selfsigned');
    expect(Object.keys(pkg.devDependencies)).toContain('selfsigned');
  });
});
