import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';

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
    expect(result).toMatchObject({ code: 1, stderr: 'invalid configuration:\n--listen: must be host:port or :port with a port from 0 to 65535, for example :9877 or 127.0.0.1:9877\n' });
  });

  it('prints its version', async () => {
    expect((await cli(['--version'])).stdout).toBe('m365-health-exporter 0.1.0\n');
    expect((await cli(['-v'])).stdout).toBe('m365-health-exporter 0.1.0\n');
  });
});

describe('Prometheus-style flags', () => {
  const ENV = { M365_TENANT_ID: '0d2d1a6e-1111-4c1e-9a7e-000000000001', M365_CLIENT_ID: '5a1c0c8e-2222-4b8e-8f3e-000000000001', M365_CLIENT_SECRET: 'x' };

  it('refuses every bad value through the config schema, naming the flag, before anything starts', async () => {
    const result = await cli(['--web.listen-address', ':98777', '--log.level', 'verbose', '--log.format=xml', '--web.max-connections', '0'], ENV);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: [
        'invalid configuration:',
        '--web.listen-address: must be host:port or :port with a port from 0 to 65535, for example :9877 or 127.0.0.1:9877',
        '--web.max-connections: must be a whole number of connections from 1 to 9999999',
        '--log.level: must be one of debug, info, warn, error',
        '--log.format: must be one of logfmt, json',
        '',
      ].join('\n'),
    });
    expect((await cli(['--log-level', 'trace', '--check-config'], ENV)).stderr).toBe('invalid configuration:\n--log-level: must be one of debug, info, warn, error\n');
  });

  it('refuses a flag given with its alias, and lists every flag with its alias in --help', async () => {
    const result = await cli(['--config', 'a.yml', '--config.file', 'b.yml']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^--config is an alias of --config.file; give one of them\n\nUsage: /);
    const help = (await cli(['--help'])).stdout;
    for (const line of ['--config.file FILE', 'alias --config', '--web.listen-address ADDR', 'alias --listen', '--web.config.file FILE', '--web.max-connections N', '--log.level LEVEL', 'alias --log-level', '--log.format FORMAT', '-v, --version']) {
      expect(help).toContain(line);
    }
  });

  it('--check-config validates the web config too, and refuses a broken one with its message', async () => {
    const config = join(dir, 'flags.yml');
    writeFileSync(config, 'logFormat: json\ntenants:\n  - {name: contoso, tenantId: contoso.onmicrosoft.com, clientId: 5a1c0c8e-2222-4b8e-8f3e-000000000001, clientSecret: s}\n');
    const web = join(dir, 'web.yml');
    writeFileSync(web, 'basic_auth_users: {prometheus: "$2y$10$NKUn8lls9v2MoXc7J8KmHulVHd9kIuekPOfORg/exHy5avrez2wiS"}\n');
    expect(await cli(['--config.file', config, '--web.config.file', web, '--check-config'])).toEqual({
      code: 0, stderr: '', stdout: `${config}: valid; 1 tenant(s)\ntenant=contoso cloud=global credential=secret collectors=health,issues,messages\n${web}: valid; no TLS; 1 basic auth user(s)\n`,
    });
    writeFileSync(web, 'tls_server_config: {cert_file: missing.pem, key_file: missing.key}\n');
    expect(await cli(['--config.file', config, '--web.config.file', web, '--check-config'])).toEqual({
      code: 1, stdout: '', stderr: `invalid configuration:\n${web}: tls_server_config.cert_file: cannot read ${join(dir, 'missing.pem')}: ENOENT\n`,
    });
  });

  it('logs logfmt by default, and ends 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI, '--web.listen-address', '127.0.0.1:0'], {
      // In a directory of the test's: the history store is written under the working directory at SIGTERM.
      cwd: dir,
      // Nothing answers there: the refreshes fail, which does not matter here. The secret is long, as real ones are
      // (a one-letter secret would be scrubbed from every word that contains the letter).
      env: { PATH: process.env.PATH!, ...ENV, M365_CLIENT_SECRET: 'a-realistic-client-secret-value', M365_AUTHORITY_HOST: 'https://127.0.0.1:9', M365_GRAPH_ENDPOINT: 'https://127.0.0.1:9' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await waitFor('the listening line', () => /msg=listening/.test(stderr), 15_000, 50);
    expect(stderr.split('\n').find((line) => line.includes('msg=listening'))).toMatch(/^time=\S+Z level=info msg=listening app=m365-health-exporter address=http:\/\/127\.0\.0\.1:\d+ tenants=1 version=0\.1\.0 maxConnections=512$/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
