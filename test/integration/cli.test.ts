import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'm365-cli-'));

async function cli(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH!, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('command line', () => {
  it('--check-config accepts a valid file and names tenants, cloud and credential kind, never the secret', async () => {
    const path = join(dir, 'ok.yml');
    writeFileSync(path, 'tenants:\n  - {name: contoso, tenantId: contoso.onmicrosoft.com, clientId: 5a1c0c8e-2222-4b8e-8f3e-000000000001, clientSecret: "${SECRET}", cloud: usgov}\n');
    const result = await cli(['--config', path, '--check-config'], { SECRET: 'super-secret-value' });
    expect(result).toEqual({ code: 0, stdout: `${path}: valid; 1 tenant(s): contoso (usgov, secret)\n`, stderr: '' });
  });

  it('--check-config rejects an invalid file with every problem, exit code 1', async () => {
    const path = join(dir, 'bad.yml');
    writeFileSync(path, 'listen: 9877\ntenants:\n  - {name: "bad name", tenantId: x, clientId: y}\n');
    const result = await cli(['--config', path, '--check-config']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe([
      'invalid configuration:',
      `${path}: listen: must be a string`,
      `${path}: tenants[0].name: must be 1-63 letters, digits, "_", "." or "-" (it becomes the tenant label)`,
      `${path}: tenants[0].tenantId: must be a directory (tenant) GUID or a verified domain such as contoso.onmicrosoft.com`,
      `${path}: tenants[0].clientId: must be the application (client) GUID of the app registration`,
      `${path}: tenants[0]: needs one credential: clientSecret, clientSecretFile, clientCertificateFile, clientAssertionFile or managedIdentity`,
      '',
    ].join('\n'));
  });

  it('reads one tenant from the environment without a file', async () => {
    const result = await cli(['--check-config'], { M365_TENANT_ID: '0d2d1a6e-1111-4c1e-9a7e-000000000001', M365_CLIENT_ID: '5a1c0c8e-2222-4b8e-8f3e-000000000001', M365_CLIENT_SECRET: 'x' });
    expect(result).toMatchObject({ code: 0, stdout: 'environment: valid; 1 tenant(s): default (global, secret)\n' });
  });

  it('explains a missing configuration', async () => {
    const result = await cli([]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('environment: M365_TENANT_ID: is required: a directory (tenant) GUID or a verified domain such as contoso.onmicrosoft.com');
  });

  it('rejects unknown flags with the usage', async () => {
    const result = await cli(['--nope']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("Unknown option '--nope'");
    expect(result.stderr).toContain('Usage: m365-health-exporter');
  });

  it('rejects a malformed --listen', async () => {
    const result = await cli(['--listen', 'localhost', '--check-config'], { M365_TENANT_ID: '0d2d1a6e-1111-4c1e-9a7e-000000000001', M365_CLIENT_ID: '5a1c0c8e-2222-4b8e-8f3e-000000000001', M365_CLIENT_SECRET: 'x' });
    expect(result).toMatchObject({ code: 1, stderr: 'invalid configuration:\n--listen: must be host:port or :port, for example :9877 or 127.0.0.1:9877\n' });
  });

  it('prints its version', async () => {
    expect((await cli(['--version'])).stdout).toBe('m365-health-exporter 0.1.0\n');
  });
});
