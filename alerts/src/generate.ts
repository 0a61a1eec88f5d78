/** `npm run alerts`: renders alerts/src/rules.yml to alerts/m365-rules.yml (run from the repository root). */
import { writeFileSync } from 'node:fs';
import { RULES_FILE, renderRules } from './render.js';

writeFileSync(RULES_FILE, renderRules('.'));
process.stdout.write(`wrote ${RULES_FILE}\n`);
