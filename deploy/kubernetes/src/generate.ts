/** `npm run kubernetes`: writes the generated objects of deploy/kubernetes (run from the repository root). */
import { writeFileSync } from 'node:fs';
import { PROMETHEUS_RULE_FILE, renderPrometheusRule } from './render.js';

writeFileSync(PROMETHEUS_RULE_FILE, renderPrometheusRule('.'));
process.stdout.write(`wrote ${PROMETHEUS_RULE_FILE}\n`);
