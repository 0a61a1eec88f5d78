/** `npm run dashboards`: writes every dashboard to dashboards/<file>.json (run from the repository root). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderDashboards } from './index.js';

const outDir = process.argv[2] ?? 'dashboards';
for (const [file, json] of await renderDashboards()) {
  writeFileSync(join(outDir, file), json);
  process.stdout.write(`wrote ${join(outDir, file)}\n`);
}
