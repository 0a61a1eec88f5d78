/**
 * The configuration as the command line reports it (dist/cli.js): what --check-config accepts starts, and what it
 * refuses is said without the secrets the file holds.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'm365-check-config-'));
const SECRET = 'Zq8~hunter2-app-secret-value';

async function cli(args: string[]) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH! }, timeout: 10_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('a YAML syntax error on the line of a secret', () => {
  // An unclosed quote on the clientSecret line: yaml's pretty errors printed that line, secret included.
  const path = join(dir, 'broken.yml');
  writeFileSync(path, `tenants:\n  - name: contoso\n    tenantId: contoso.onmicrosoft.com\n    clientId: 5a1c0c8e-2222-4b8e-8f3e-000000000001\n    clientSecret: "${SECRET}\n    cloud: usgov\n`);
  const expected = `invalid configuration:\n${path}: invalid YAML at line 7, column 1: a closing quote or bracket, a comma, or the "-" of a list item is missing\n`;

  it('is named by line and column in --check-config output, without the secret', async () => {
    const result = await cli(['--config', path, '--check-config']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: expected });
    expect(`${result.stdout}${result.stderr}`).not.toContain('hunter2');
  });

  it('stops the exporter at start the same way', async () => {
    const result = await cli(['--config', path, '--listen', '127.0.0.1:0']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: expected });
  });
});
