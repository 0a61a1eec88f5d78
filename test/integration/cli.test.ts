import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
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
    expect(result).toEqual({ code: 0, stdout: `${path}: valid; 1 tenant(s)\ntenant=contoso cloud=usgov credential=secret collectors=health,issues,messages\n`, stderr: '' });
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
    expect(result).toMatchObject({ code: 0, stdout: 'environment: valid; 1 tenant(s)\ntenant=default cloud=global credential=secret collectors=health,issues,messages\n' });
  });

  it('--check-config summarizes a fleet from tenantsDir, one line per tenant of the shard, no credential but its kind', async () => {
    const fleet = join(dir, 'fleet');
    mkdirSync(join(fleet, 'tenants.d'), { recursive: true });
    const jwt = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"hunter2-claims"}').toString('base64url')}.c2ln`;
    writeFileSync(join(fleet, 'token'), jwt);
    writeFileSync(join(fleet, 'config.yml'), 'tenantsDir: tenants.d\ndefaults:\n  clientId: 5a1c0c8e-2222-4b8e-8f3e-000000000001\n  clientAssertionFile: token\n');
    for (const name of ['alpha', 'bravo', 'charlie', 'delta', 'echo']) {
      writeFileSync(join(fleet, 'tenants.d', `${name}.yml`), `name: ${name}\ntenantId: ${name}.onmicrosoft.com\n${name === 'echo' ? 'clientSecret: "${SECRET}"\ncollectors: [health]\n' : ''}`);
    }
    const path = join(fleet, 'config.yml');
    const whole = await cli(['--config', path, '--check-config'], { SECRET: 'hunter2-secret-value' });
    expect(whole).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        `${path}: valid; 5 tenant(s)`,
        ...['alpha', 'bravo', 'charlie', 'delta'].map((name) => `tenant=${name} cloud=global credential=federated collectors=health,issues,messages`),
        'tenant=echo cloud=global credential=secret collectors=health',
        '',
      ].join('\n'),
    });
    const shards = await Promise.all([0, 1].map((shard) => cli(['--config', path, '--check-config', '--total-shards', '2', '--shard', String(shard)], { SECRET: 'hunter2-secret-value' })));
    const kept = shards.map((result) => result.stdout.split('\n').slice(1).filter(Boolean));
    expect(shards.map((result) => result.stdout.split('\n')[0])).toEqual([0, 1].map((shard) => `${path}: valid; shard ${shard} of 2: ${kept[shard]!.length} tenant(s) of 5`));
    expect(kept.flat().sort()).toEqual(whole.stdout.split('\n').slice(1).filter(Boolean).sort());
    for (const result of [whole, ...shards]) expect(`${result.stdout}${result.stderr}`).not.toMatch(/hunter2|c2ln/);
  });

  it('refuses sharding flags that do not make a shard', async () => {
    const env = { M365_TENANT_ID: '0d2d1a6e-1111-4c1e-9a7e-000000000001', M365_CLIENT_ID: '5a1c0c8e-2222-4b8e-8f3e-000000000001', M365_CLIENT_SECRET: 'x' };
    expect(await cli(['--check-config', '--shard', '2', '--total-shards', '2'], env)).toMatchObject({ code: 1, stderr: 'invalid configuration:\n--shard: 2 is not a shard of 2: shards are numbered 0 to 1\n' });
    expect(await cli(['--check-config', '--shard-from-hostname', '--total-shards', '2'], { ...env, POD_NAME: 'm365-exporter' })).toMatchObject({
      code: 1, stderr: 'invalid configuration:\n--shard-from-hostname: POD_NAME "m365-exporter" does not end in -<ordinal>, as the name of a StatefulSet\'s pod does\n',
    });
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
