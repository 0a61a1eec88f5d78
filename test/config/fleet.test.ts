/**
 * Fleet configuration (README "Many tenants: defaults and tenantsDir") and the secretless credentials (README
 * "Secretless sign-in"): what a tenant inherits, where each problem is reported (the file and field it was written
 * in), and how the environment of an AKS pod with workload identity configures one tenant.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile, loadConfigFromEnv } from '../../src/config/load.js';
import { errorOf } from '../helpers/config.js';

const APP = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const OTHER_APP = 'bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee';
const tenantId = (n: number) => `11111111-2222-3333-4444-${String(n).padStart(12, '0')}`;
/** A JWT's shape (header.claims.signature); the content is never checked at load. */
const JWT = `${Buffer.from('{"alg":"RS256","kid":"k"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.c2ln`;

let root: string;
let n = 0;
/** A fresh directory with these files (path → text); returns the directory. */
function dirWith(files: Record<string, string>): string {
  const dir = join(root, `case-${++n}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

let certPem: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'm365-fleet-'));
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'msp-app' }], { keySize: 2048 });
  certPem = `${pems.cert}\n${pems.private}`;
});

describe('defaults', () => {
  it('give every tenant the multi-tenant app and its certificate, read once and shared', () => {
    const dir = dirWith({
      'certs/app.pem': certPem,
      'config.yml': `defaults:\n  clientId: ${APP}\n  clientCertificateFile: certs/app.pem\n  cloud: usgov\n  collectors: [health]\ntenants:\n`
        + `  - {name: a, tenantId: ${tenantId(1)}}\n  - {name: b, tenantId: ${tenantId(2)}, cloud: global}\n`,
    });
    const config = loadConfigFile(join(dir, 'config.yml'), {});
    const [a, b] = config.tenants;
    expect(a).toMatchObject({ name: 'a', clientId: APP, cloud: 'usgov', collectors: ['health'], credential: { kind: 'certificate' } });
    expect(b).toMatchObject({ name: 'b', clientId: APP, cloud: 'global', graphEndpoint: 'https://graph.microsoft.com' });
    // One parsed certificate for the fleet, not one per tenant.
    expect(b!.credential).toBe(a!.credential);
    expect('defaults' in config).toBe(false);
  });

  it('a tenant that signs in its own way inherits none of the default credential keys', () => {
    const dir = dirWith({
      'app.pem': certPem,
      'config.yml': `defaults:\n  clientId: ${APP}\n  clientCertificateFile: app.pem\n  clientSecretExpiresAt: 2027-01-01\ntenants:\n`
        + `  - {name: own-app, tenantId: ${tenantId(1)}, clientId: ${OTHER_APP}, clientSecret: s3cret}\n`
        + `  - {name: own-secret, tenantId: ${tenantId(2)}, clientSecret: s3cret}\n`
        + `  - {name: on-azure, tenantId: ${tenantId(3)}, managedIdentity: system}\n`,
    });
    const [ownApp, ownSecret, onAzure] = loadConfigFile(join(dir, 'config.yml'), {}).tenants;
    expect(ownApp).toMatchObject({ clientId: OTHER_APP, credential: { kind: 'secret' } });
    expect((ownApp!.credential as { expiresAt?: Date }).expiresAt).toBeUndefined();
    expect(ownSecret).toMatchObject({ clientId: APP, credential: { kind: 'secret' } });
    // A managed identity has its own client id: the app's is not inherited.
    expect(onAzure!.clientId).toBeUndefined();
    expect(onAzure!.credential).toEqual({ kind: 'managedIdentity' });
  });

  it('a bad default is reported once, under defaults:, however many tenants inherit it', () => {
    const dir = dirWith({
      'config.yml': `defaults:\n  clientId: my-app\n  clientSecret: x\n  collectors: [health, incidents]\ntenants:\n`
        + [1, 2, 3].map((i) => `  - {name: t${i}, tenantId: ${tenantId(i)}}\n`).join(''),
    });
    const path = join(dir, 'config.yml');
    expect(errorOf(() => loadConfigFile(path, {}))).toBe([
      `${path}: defaults.clientId: must be the application (client) GUID of the app registration`,
      `${path}: defaults.collectors[1]: must be one of health, issues, messages, serviceActivity`,
    ].join('\n'));
  });

  it('take no name or tenantId, and no unknown key', () => {
    const dir = dirWith({ 'config.yml': `defaults:\n  name: x\n  tenantID: y\n  clientId: ${APP}\n  clientSecret: s\ntenants:\n  - {name: a, tenantId: ${tenantId(1)}}\n` });
    const path = join(dir, 'config.yml');
    expect(errorOf(() => loadConfigFile(path, {}))).toBe(`${path}: defaults: unknown field(s) "name", "tenantID"`);
  });
});

describe('tenantsDir', () => {
  it('reads one tenant per *.yml / *.yaml file, in name order, relative paths relative to each file', () => {
    const dir = dirWith({
      'config.yml': `tenantsDir: customers\ndefaults:\n  clientId: ${APP}\n  clientSecret: \${APP_SECRET}\ntenants:\n  - {name: inline, tenantId: ${tenantId(9)}}\n`,
      'customers/b-fabrikam.yaml': `name: fabrikam\ntenantId: ${tenantId(2)}\ncloud: usgov\n`,
      'customers/a-contoso.yml': `name: contoso\ntenantId: ${tenantId(1)}\nclientId: ${OTHER_APP}\nclientSecretFile: contoso.secret\n`,
      'customers/contoso.secret': 'contoso-secret\n',
      'customers/README.md': 'not a tenant',
      'customers/.hidden.yml': 'not: a tenant',
      'customers/old/ignored.yml': 'subdirectories are not read',
    });
    const config = loadConfigFile(join(dir, 'config.yml'), { APP_SECRET: 'shared-secret' });
    expect(config.tenants.map((t) => t.name)).toEqual(['inline', 'contoso', 'fabrikam']);
    const [, contoso, fabrikam] = config.tenants;
    expect(contoso!.credential.kind === 'secret' && contoso!.credential.secret.reveal()).toBe('contoso-secret');
    expect(fabrikam).toMatchObject({ clientId: APP, cloud: 'usgov' });
    expect(fabrikam!.credential.kind === 'secret' && fabrikam!.credential.secret.reveal()).toBe('shared-secret');
  });

  it('reads a ConfigMap mounted as a directory (files are links into ..data)', () => {
    const dir = dirWith({ 'config.yml': 'tenantsDir: mounted\n', 'mounted/..2026_01_01/contoso.yml': `name: contoso\ntenantId: ${tenantId(1)}\nclientId: ${APP}\nclientSecret: s\n` });
    symlinkSync('..2026_01_01', join(dir, 'mounted', '..data'));
    symlinkSync(join('..data', 'contoso.yml'), join(dir, 'mounted', 'contoso.yml'));
    expect(loadConfigFile(join(dir, 'config.yml'), {}).tenants.map((t) => t.name)).toEqual(['contoso']);
  });

  it('names the tenant file and field of every problem, each file checked', () => {
    const dir = dirWith({
      'config.yml': `tenantsDir: tenants.d\ndefaults:\n  clientSecret: s\n  cloud: mars\ntenants:\n  - {name: contoso, tenantId: ${tenantId(1)}, clientId: ${APP}}\n`,
      'tenants.d/bad-id.yml': `name: bad-id\ntenantId: ${tenantId(2)}\nclientId: my-app\n`,
      'tenants.d/no-credential.yml': `name: no-credential\ntenantId: ${tenantId(3)}\nclientId: ${APP}\nclientSecret: ''\n`,
      'tenants.d/typo.yml': `name: typo\ntenantId: ${tenantId(4)}\nclientId: ${APP}\ntypo: 1\n`,
      'tenants.d/list.yml': '- name: x\n',
    });
    const path = join(dir, 'config.yml');
    const file = (name: string) => join(dir, 'tenants.d', name);
    expect(errorOf(() => loadConfigFile(path, {}))).toBe([
      `${path}: defaults.cloud: must be one of global (worldwide, also GCC), usgov (GCC High), usgovdod (DoD), china (21Vianet)`,
      `${file('bad-id.yml')}: clientId: must be the application (client) GUID of the app registration`,
      `${file('list.yml')}: must be a mapping of keys to values`,
      `${file('no-credential.yml')}: clientSecret: must not be empty`,
      `${file('typo.yml')}: unknown field(s) "typo"`,
    ].join('\n'));
  });

  it('names the file of a tenant whose name is taken', () => {
    const dir = dirWith({
      'config.yml': `tenantsDir: tenants.d\ndefaults:\n  clientId: ${APP}\n  clientSecret: s\ntenants:\n  - {name: contoso, tenantId: ${tenantId(1)}}\n`,
      'tenants.d/contoso-again.yml': `name: contoso\ntenantId: ${tenantId(2)}\n`,
    });
    expect(errorOf(() => loadConfigFile(join(dir, 'config.yml'), {})))
      .toBe(`${join(dir, 'tenants.d', 'contoso-again.yml')}: name: "contoso" is used twice; tenant names must be unique`);
  });

  it('reports YAML errors and unset variables of every tenant file, by file', () => {
    const dir = dirWith({
      'config.yml': 'tenantsDir: t\n',
      't/a.yml': 'name: a\nclientSecret: "hunter2\n',
      't/b.yml': 'name: b\nclientSecret: ${B_SECRET}\n',
    });
    const message = errorOf(() => loadConfigFile(join(dir, 'config.yml'), {}));
    expect(message).toBe([
      `${join(dir, 't', 'a.yml')}: invalid YAML at line 3, column 1: a closing quote or bracket, a comma, or the "-" of a list item is missing`,
      `${join(dir, 't', 'b.yml')}: clientSecret: environment variable B_SECRET is not set`,
    ].join('\n'));
    expect(message).not.toContain('hunter2');
  });

  it('must exist and, without tenants:, hold a tenant', () => {
    const missing = dirWith({ 'config.yml': 'tenantsDir: nowhere\n' });
    expect(errorOf(() => loadConfigFile(join(missing, 'config.yml'), {}))).toBe(`${join(missing, 'config.yml')}: tenantsDir: cannot read directory ${join(missing, 'nowhere')}: ENOENT`);
    const empty = dirWith({ 'config.yml': 'tenantsDir: t\n', 't/notes.txt': '' });
    expect(errorOf(() => loadConfigFile(join(empty, 'config.yml'), {}))).toBe(`${join(empty, 'config.yml')}: tenantsDir: ${join(empty, 't')} holds no tenant files (*.yml, *.yaml) and tenants: lists none`);
  });
});

describe('secretless credentials in the file', () => {
  it('clientAssertionFile: checked to hold a JWT at load, never kept', () => {
    const dir = dirWith({ 'config.yml': `tenants:\n  - {name: a, tenantId: ${tenantId(1)}, clientId: ${APP}, clientAssertionFile: token}\n`, token: `${JWT}\n` });
    const config = loadConfigFile(join(dir, 'config.yml'), {});
    expect(config.tenants[0]!.credential).toEqual({ kind: 'federated', assertionFile: join(dir, 'token') });
    expect(JSON.stringify(config)).not.toContain(JWT);

    writeFileSync(join(dir, 'token'), 'hunter2-not-a-jwt');
    const message = errorOf(() => loadConfigFile(join(dir, 'config.yml'), {}));
    expect(message).toBe(`${join(dir, 'config.yml')}: tenants[0].clientAssertionFile: ${join(dir, 'token')} does not hold a JWT (such as a Kubernetes service account token)`);
    expect(message).not.toContain('hunter2');
  });

  it.each([
    ['user-assigned', 'managedIdentity: {clientId: 22222222-3333-4444-5555-666666666666}', { kind: 'managedIdentity', clientId: '22222222-3333-4444-5555-666666666666' }],
    ['system-assigned', 'managedIdentity: system', { kind: 'managedIdentity' }],
  ])('managedIdentity: %s, no clientId needed', (_case, line, credential) => {
    const dir = dirWith({ 'config.yml': `tenants:\n  - name: a\n    tenantId: ${tenantId(1)}\n    ${line}\n` });
    expect(loadConfigFile(join(dir, 'config.yml'), {}).tenants[0]).toMatchObject({ credential });
  });

  it.each([
    ['a word', 'managedIdentity: user', 'tenants[0].managedIdentity: must be system (the system-assigned identity) or { clientId: <GUID> } (a user-assigned identity)'],
    ['an object id', 'managedIdentity: {objectId: x}', 'tenants[0].managedIdentity: must be system (the system-assigned identity) or { clientId: <GUID> } (a user-assigned identity)'],
    ['a bad client id', 'managedIdentity: {clientId: x}', 'tenants[0].managedIdentity.clientId: must be the client (application) GUID of the user-assigned managed identity'],
    ['with an app', `managedIdentity: system\n    clientId: ${APP}`, 'tenants[0].clientId: is not used with managedIdentity (a user-assigned identity is named by managedIdentity.clientId; the token comes from the host\'s identity endpoint)'],
    ['with a secret', 'managedIdentity: system\n    clientSecret: s', 'tenants[0]: has clientSecret and managedIdentity; give exactly one credential'],
  ])('managedIdentity refuses %s', (_case, line, expected) => {
    const dir = dirWith({ 'config.yml': `tenants:\n  - name: a\n    tenantId: ${tenantId(1)}\n    ${line}\n` });
    expect(errorOf(() => loadConfigFile(join(dir, 'config.yml'), {}))).toBe(`${join(dir, 'config.yml')}: ${expected}`);
  });

  it('one tenant at most signs in with a managed identity', () => {
    const dir = dirWith({ 'config.yml': `defaults:\n  managedIdentity: system\ntenants:\n  - {name: a, tenantId: ${tenantId(1)}}\n  - {name: b, tenantId: ${tenantId(2)}}\n` });
    expect(errorOf(() => loadConfigFile(join(dir, 'config.yml'), {}))).toBe(`${join(dir, 'config.yml')}: defaults.managedIdentity: only one tenant can sign in with a managed identity: an identity gets tokens for its own directory only`);
  });
});

describe('the environment of a pod', () => {
  const tokenFile = () => dirWith({ token: JWT });

  it('signs in by federation with what AKS workload identity injects', () => {
    const dir = tokenFile();
    const config = loadConfigFromEnv({
      AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'), AZURE_CLIENT_ID: APP, AZURE_TENANT_ID: tenantId(1), AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/',
    });
    expect(config.tenants[0]).toMatchObject({
      name: 'default', tenantId: tenantId(1), clientId: APP, authorityHost: 'https://login.microsoftonline.com', credential: { kind: 'federated', assertionFile: join(dir, 'token') },
    });
  });

  it('M365_* variables win, and an M365_* credential leaves the injected ones alone', () => {
    const dir = tokenFile();
    const injected = { AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'), AZURE_CLIENT_ID: APP, AZURE_TENANT_ID: tenantId(1) };
    expect(loadConfigFromEnv({ ...injected, M365_CLIENT_ID: OTHER_APP }).tenants[0]).toMatchObject({ clientId: OTHER_APP, tenantId: tenantId(1), credential: { kind: 'federated' } });
    expect(loadConfigFromEnv({ ...injected, M365_TENANT_ID: tenantId(2), M365_CLIENT_ID: OTHER_APP, M365_CLIENT_SECRET: 's' }).tenants[0])
      .toMatchObject({ tenantId: tenantId(2), clientId: OTHER_APP, credential: { kind: 'secret' } });
    // The webhook injects AZURE_CLIENT_ID into a pod that signs in as the node's managed identity too.
    expect(loadConfigFromEnv({ ...injected, M365_TENANT_ID: tenantId(2), M365_MANAGED_IDENTITY: 'system' }).tenants[0])
      .toMatchObject({ tenantId: tenantId(2), credential: { kind: 'managedIdentity' } });
  });

  it('M365_MANAGED_IDENTITY: system or a client id, named when wrong', () => {
    expect(loadConfigFromEnv({ M365_TENANT_ID: tenantId(1), M365_MANAGED_IDENTITY: OTHER_APP }).tenants[0]!.credential).toEqual({ kind: 'managedIdentity', clientId: OTHER_APP });
    expect(errorOf(() => loadConfigFromEnv({ M365_TENANT_ID: tenantId(1), M365_MANAGED_IDENTITY: 'yes' })))
      .toBe('environment: M365_MANAGED_IDENTITY: must be the client (application) GUID of the user-assigned managed identity');
  });

  it('names the injected variable that is wrong', () => {
    const dir = tokenFile();
    expect(errorOf(() => loadConfigFromEnv({ AZURE_FEDERATED_TOKEN_FILE: join(dir, 'token'), AZURE_CLIENT_ID: 'x', AZURE_TENANT_ID: tenantId(1) })))
      .toBe('environment: AZURE_CLIENT_ID: must be the application (client) GUID of the app registration');
    expect(errorOf(() => loadConfigFromEnv({ AZURE_FEDERATED_TOKEN_FILE: join(dir, 'missing'), AZURE_CLIENT_ID: APP, AZURE_TENANT_ID: tenantId(1) })))
      .toBe(`environment: AZURE_FEDERATED_TOKEN_FILE: cannot read ${join(dir, 'missing')}: ENOENT`);
  });
});
