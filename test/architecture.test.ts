/**
 * Imports run one way, along the flow of data (shared/STYLE.md, "Imports point down the flow"):
 *   model → config → auth → graph → collectors → runtime → history → exposition → server | otlp → exporter, cli
 * `model` holds the vocabulary every stage shares (metric definitions, error reasons, the Monitoring API table), so
 * a lower stage never has to reach up for a type. This test reads every import of src/ and fails on one that runs
 * against the flow, between the two sinks, or out of src/ (the simulator and the tests are not product).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

const STAGES: Array<{ stage: string; paths: string[] }> = [
  { stage: 'model', paths: ['model/', 'logger.ts', 'version.ts'] },
  { stage: 'config', paths: ['config/'] },
  { stage: 'auth', paths: ['auth/'] },
  { stage: 'graph', paths: ['graph/'] },
  { stage: 'collectors', paths: ['collectors/'] },
  { stage: 'runtime', paths: ['runtime/'] },
  { stage: 'history', paths: ['history/'] },
  { stage: 'exposition', paths: ['exposition/'] },
  { stage: 'legacy', paths: ['legacy/'] },
  { stage: 'feeds', paths: ['feeds/'] },
  { stage: 'server', paths: ['server/'] },
  { stage: 'otlp', paths: ['otlp/'] },
  { stage: 'composition', paths: ['exporter.ts', 'cli.ts', 'index.ts'] },
];
/** Stages of equal rank: the two ways out, which must not know each other. */
const RANK: Record<string, number> = { model: 0, config: 1, auth: 2, graph: 3, collectors: 4, runtime: 5, history: 6, exposition: 7, legacy: 7, feeds: 7, server: 8, otlp: 8, composition: 9 };

function stageOf(file: string): string | undefined {
  const path = relative(SRC, file).split('\\').join('/');
  return STAGES.find(({ paths }) => paths.some((p) => (p.endsWith('/') ? path.startsWith(p) : path === p)))?.stage;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(path) : entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Relative specifiers of static imports, re-exports and dynamic imports. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const found = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/g), ...text.matchAll(/import\(\s*'([^']+)'\s*\)/g)];
  return found.map((match) => match[1]!).filter((specifier) => specifier.startsWith('.'));
}

/** Why `specifier`, imported by `file`, runs against the flow; undefined when it does not. */
function violation(file: string, specifier: string): string | undefined {
  const from = stageOf(file)!;
  const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
  const to = target.startsWith(SRC) ? stageOf(target) : undefined;
  if (to === undefined) return 'outside src/';
  if (RANK[to]! > RANK[from]! || (RANK[to] === RANK[from] && to !== from)) return `${from} → ${to}`;
  return undefined;
}

describe('source layout', () => {
  const files = sourceFiles(SRC);

  it('puts every file of src/ in a stage', () => {
    expect(files.filter((file) => stageOf(file) === undefined).map((file) => relative(SRC, file))).toEqual([]);
  });

  it('imports only along the flow', () => {
    const against = files.flatMap((file) => importsOf(file).flatMap((specifier) => {
      const why = violation(file, specifier);
      return why ? [`${relative(SRC, file)} → ${specifier} (${why})`] : [];
    }));
    expect(against).toEqual([]);
  });

  it('refuses an import against the flow, between the sinks, or out of src/', () => {
    expect(violation(join(SRC, 'runtime/tenant.ts'), '../exposition/store.js')).toBe('runtime → exposition');
    expect(violation(join(SRC, 'config/schema.ts'), '../graph/client.js')).toBe('config → graph');
    expect(violation(join(SRC, 'runtime/tenant.ts'), '../history/history.js')).toBe('runtime → history');
    expect(violation(join(SRC, 'server/app.ts'), '../otlp/push.js')).toBe('server → otlp');
    expect(violation(join(SRC, 'exporter.ts'), '../simulator/index.js')).toBe('outside src/');
    expect(violation(join(SRC, 'exposition/store.ts'), '../runtime/tenant.js')).toBeUndefined();
    expect(importsOf(join(SRC, 'runtime/tenant.ts'))).toContain('./runner.js');
  });
});
