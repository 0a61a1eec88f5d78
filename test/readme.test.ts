import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVICE_ACTIVITY_FUNCTIONS } from '../src/model/serviceActivityFunctions.js';
import { BUILD_INFO, CONFIG_RELOAD_SUCCESS_TIMESTAMP, CONFIG_RELOAD_SUCCESSFUL, METRICS, OTLP_EXPORTS, SHARD_INFO, STORAGE_HEALTHY, STORAGE_SIZE, STORAGE_WRITE_ERRORS } from '../src/model/metrics.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');

describe('README', () => {
  it('starts with the demo command and the test command, and CI runs that test command', () => {
    const firstBlock = readme.match(/```sh\n([\s\S]*?)```/)![1]!.trim().split('\n');
    expect(readme.indexOf('```sh')).toBeLessThan(readme.indexOf('\n## '));
    expect(firstBlock).toHaveLength(2);
    expect(firstBlock[0]).toMatch(/^npm ci && npm run demo\s/);
    expect(firstBlock[1]).toMatch(/&& npm test\s/);
    expect(ci).toMatch(/^npm test$/m);
  });

  it('documents every metric family with its type and exact labels', () => {
    for (const def of [...Object.values(METRICS), BUILD_INFO, CONFIG_RELOAD_SUCCESSFUL, CONFIG_RELOAD_SUCCESS_TIMESTAMP, OTLP_EXPORTS, SHARD_INFO, STORAGE_HEALTHY, STORAGE_WRITE_ERRORS, STORAGE_SIZE]) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${def.name}\` |`));
      expect(row, def.name).toBeDefined();
      expect(row).toContain(`| ${def.type} | ${def.labels.map((l) => `\`${l}\``).join(', ')} |`);
    }
  });

  it('lists every Monitoring API function with its metric label and kind', () => {
    for (const fn of SERVICE_ACTIVITY_FUNCTIONS) {
      expect(readme).toContain(`| \`${fn.workload}\` | \`${fn.name}\`${fn.learnOnly ? ' (named only)' : ''} | \`${fn.metric}\` | ${fn.kind} → `);
    }
  });
});

describe('README alerts', () => {
  it('lists every alert of the rule files with its runbook link', async () => {
    const { parse } = await import('yaml');
    const rules = parse(readFileSync(new URL('../alerts/m365-rules.yml', import.meta.url), 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; labels?: { severity?: string } }> }> };
    const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
    expect(alerts.length).toBeGreaterThan(10);
    for (const rule of alerts) {
      expect(readme).toContain(`| [${rule.alert}](docs/runbook.md#${rule.alert!.toLowerCase()}) | ${rule.labels?.severity} |`);
    }
  });
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, heading] of withoutCode(markdown, false).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    const slug = heading!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const repeats = seen.get(slug) ?? 0;
    seen.set(slug, repeats + 1);
    anchors.add(repeats === 0 ? slug : `${slug}-${repeats}`);
  }
  return anchors;
}

/** Markdown without its code blocks (and, for links, its inline code), where a `](x)` or `# x` is not a link or heading. */
function withoutCode(markdown: string, inline = true): string {
  const blocks = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return inline ? blocks.replace(/`[^`\n]*`/g, '') : blocks;
}

describe('README and docs/ links', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const files = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join('docs', name))];

  /** Each linked file's headings, read once however many links name them. */
  const headings = new Map<string, Set<string>>();
  const anchorsIn = (path: string) => headings.get(path) ?? headings.set(path, anchorsOf(readFileSync(join(root, path), 'utf8'))).get(path)!;

  it.each(files)('%s: every relative link names a file of the repository and a heading that exists', (file) => {
    const text = readFileSync(join(root, file), 'utf8');
    const broken: string[] = [];
    for (const [, target] of withoutCode(text).matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z+.-]*:/i.test(target!)) continue; // https:, mailto:
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const destination = path ? join(dirname(file), path) : file;
      if (!existsSync(join(root, destination))) broken.push(`${target} (no file ${destination})`);
      else if (anchor && destination.endsWith('.md') && !anchorsIn(destination).has(anchor)) broken.push(`${target} (no heading)`);
    }
    expect(broken).toEqual([]);
  });
});
