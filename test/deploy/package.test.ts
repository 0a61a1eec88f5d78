/**
 * The published package and the runtime install hold the exporter only: the simulated tenant (simulator/) is a test
 * double with its own build (dist-simulator/), and its one dependency (selfsigned) is a dev dependency.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  bin: Record<string, string>;
  main?: string;
  scripts: Record<string, string>;
};
/** What `npm pack` puts in the tarball (README "Quick start": npm pack, then npm install -g of the tarball). */
const packedPaths = () => {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' })) as Array<{ files: Array<{ path: string }> }>;
  return packed!.files.map((f) => f.path);
};

describe('npm package', () => {
  it('contains no simulator file', () => {
    const paths = packedPaths();
    expect(paths).toContain('dist/cli.js');
    expect(paths.filter((path) => path.includes('simulator'))).toEqual([]);
  });

  it('packs the command it installs, built fresh by npm pack, and no entry point it does not have', () => {
    const paths = packedPaths();
    expect(Object.entries(pkg.bin)).toEqual([['m365-health-exporter', 'dist/cli.js']]);
    expect(paths).toContain(pkg.bin['m365-health-exporter']);
    expect(readFileSync(new URL(pkg.bin['m365-health-exporter']!, ROOT), 'utf8')).toMatch(/^#!\/usr\/bin\/env node\n/);
    if (pkg.main !== undefined) expect(paths).toContain(pkg.main);
    expect(pkg.scripts.prepack).toBe('npm run build');
  });

  it('installs selfsigned, which only the simulator uses, as a dev dependency', () => {
    expect(Object.keys(pkg.dependencies)).not.toContain('selfsigned');
    expect(Object.keys(pkg.devDependencies)).toContain('selfsigned');
  });
});
