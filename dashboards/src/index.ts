/**
 * Renders every dashboard. Each file in `dashboards/` (this directory) default-exports one DashboardDefinition, so
 * adding a dashboard (e.g. serviceActivity) is adding one file.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { DashboardDefinition } from './lib.js';

const DIRECTORY = new URL('./dashboards/', import.meta.url);

export async function loadDashboards(): Promise<DashboardDefinition[]> {
  // Runs compiled (.js) through `npm run dashboards` and as TypeScript under vitest.
  const files = readdirSync(fileURLToPath(DIRECTORY)).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith('.d.ts')).sort();
  const definitions = await Promise.all(files.map(async (f) => ((await import(new URL(f, DIRECTORY).href)) as { default: DashboardDefinition }).default));
  return definitions;
}

/** File name → JSON text, exactly as committed under dashboards/. */
export async function renderDashboards(): Promise<Map<string, string>> {
  const rendered = new Map<string, string>();
  for (const definition of await loadDashboards()) {
    if (rendered.has(definition.file)) throw new Error(`two dashboards write ${definition.file}`);
    rendered.set(definition.file, `${JSON.stringify(definition.build(), null, 2)}\n`);
  }
  return rendered;
}
