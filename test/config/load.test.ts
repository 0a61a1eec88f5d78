import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import selfsigned from 'selfsigned';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, loadConfigFromEnv, redactedConfig } from '../../src/config/load.js';
import { errorOf } from '../helpers/config.js';

const TENANT_ID = '11111111-2222-3333-4444-555555555555';
const CLIENT_ID = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';
const dir = mkdtempSync(join(tmpdir(), 'm365-config-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const tenantYaml = (extra = '') => `tenants:
  - name: contoso
    tenantId: ${TENANT_ID}
    clientId: ${CLIENT_ID}
${extra}`;

describe('config file', () => {
  it('applies defaults and expands ${ENV} references inside values', () => {
    const path = file('ok.yml', `${tenantYaml('    clientSecret: ${M365_TEST_SECRET}\n    cloud: usgov\n')}refresh:\n  issues: 2m\n`);
    const config = loadConfigFile(path, { M365_TEST_SECRET: 'p@ss: word {x}' });
    expect(config.listen).toBe(':9877');
    expect(config.refresh).toEqual({ health: 60_000, issues: 120_000, messages: 900_000, serviceActivity: 300_000 });
    expect(config.issueRetention).toBe(7 * 86_400_000);
    expect(config.requestBudget).toEqual({ perMinute: 240, perHour: 800 });
    const [tenant] = config.tenants;
    expect(tenant).toMatchObject({ name: 'contoso', cloud: 'usgov', authorityHost: 'https://login.microsoftonline.us', graphEndpoint: 'https://graph.microsoft.us', collectors: ['health', 'issues', 'messages'] });
    expect(tenant!.credential.kind === 'secret' && tenant!.credential.secret.reveal()).toBe('p@ss: word {x}');
  });

  it('never prints a secret, however the config is shown', () => {
    const config = loadConfigFile(file('secret.yml', tenantYaml('    clientSecret: hunter2-very-secret\n')), {});
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 }), JSON.stringify(redactedConfig(config)), `${config.tenants[0]!.credential.kind === 'secret' ? config.tenants[0]!.credential.secret : ''}`]) {
      expect(shown).not.toContain('hunter2');
    }
    expect(JSON.stringify(config)).toContain('<secret>');
  });

  it('reads the secret from clientSecretFile relative to the config file', () => {
    file('secret.txt', 'from-file\n');
    const config = loadConfigFile(file('file.yml', tenantYaml('    clientSecretFile: secret.txt\n')), {});
    expect(config.tenants[0]!.credential.kind === 'secret' && config.tenants[0]!.credential.secret.reveal()).toBe('from-file');
  });

  it('loads a PEM certificate with its key and exposes its expiry', async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'exporter' }], { keySize: 2048, notAfterDate: new Date(Date.now() + 30 * 86_400_000) });
    file('cert.pem', `${pems.cert}\n${pems.private}`);
    const config = loadConfigFile(file('cert.yml', tenantYaml('    clientCertificateFile: cert.pem\n')), {});
    const credential = config.tenants[0]!.credential;
    expect(credential.kind).toBe('certificate');
    if (credential.kind !== 'certificate') return;
    expect(credential.thumbprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(credential.notAfter.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(JSON.stringify(config)).not.toContain('PRIVATE KEY');
  });

  it.each([
    ['no credential', tenantYaml(), 'tenants[0]: needs one credential: clientSecret, clientSecretFile, clientCertificateFile, clientAssertionFile or managedIdentity'],
    ['two credentials', tenantYaml('    clientSecret: a\n    clientSecretFile: b\n'), 'tenants[0]: has clientSecret and clientSecretFile; give exactly one credential'],
    ['unknown key', `${tenantYaml('    clientSecret: a\n')}scrapeInterval: 5s\n`, ': unknown field(s) "scrapeInterval"'],
    ['bad duration', `${tenantYaml('    clientSecret: a\n')}refresh:\n  health: 60\n`, 'refresh.health: 60 has no unit; write it as a duration such as 60s or 60m'],
    ['bad cloud', tenantYaml('    clientSecret: a\n    cloud: germany\n'), 'tenants[0].cloud: must be one of global (worldwide, also GCC), usgov (GCC High), usgovdod (DoD), china (21Vianet)'],
    ['bad client id', tenantYaml('    clientSecret: a\n').replace(CLIENT_ID, 'my-app'), 'tenants[0].clientId: must be the application (client) GUID of the app registration'],
    ['http authority', tenantYaml('    clientSecret: a\n    authorityHost: http://login.example\n'), 'tenants[0].authorityHost: must be an https:// URL'],
    ['duplicate names', `tenants:\n  - {name: a, tenantId: ${TENANT_ID}, clientId: ${CLIENT_ID}, clientSecret: x}\n  - {name: a, tenantId: ${TENANT_ID}, clientId: ${CLIENT_ID}, clientSecret: y}\n`, 'tenants[1].name: "a" is used twice; tenant names must be unique'],
    ['duration typo', `${tenantYaml('    clientSecret: a\n')}issueRetention: 7days\n`, 'issueRetention: "7days" is not a duration (use Prometheus syntax such as 30s, 15m, 1h30m, 7d)'],
    ['no tenants', 'tenants: []\n', 'tenants: must list at least one tenant'],
    ['budget above Graph limit', `${tenantYaml('    clientSecret: a\n')}requestBudget:\n  perMinute: 500\n`, 'requestBudget.perMinute: must be a whole number from 1 to 240 (Graph allows at most 240 requests per minute per app and tenant)'],
    ['fractional budget', `${tenantYaml('    clientSecret: a\n')}requestBudget:\n  perHour: 2.5\n`, 'requestBudget.perHour: must be a whole number from 1 to 800 (Graph allows at most 800 requests per hour per app and tenant)'],
    ['Monitoring API budget', `${tenantYaml('    clientSecret: a\n')}serviceActivity:\n  requestsPerMinute: 0\n`, 'serviceActivity.requestsPerMinute: must be a whole number from 1 to 600'],
    ['tenant id', tenantYaml('    clientSecret: a\n').replace(TENANT_ID, 'contoso'), 'tenants[0].tenantId: must be a directory (tenant) GUID or a verified domain such as contoso.onmicrosoft.com'],
    ['no tenant id', tenantYaml('    clientSecret: a\n').replace(`    tenantId: ${TENANT_ID}\n`, ''), 'tenants[0].tenantId: is required: a directory (tenant) GUID or a verified domain such as contoso.onmicrosoft.com'],
    ['secret expiry not ISO 8601', tenantYaml('    clientSecret: a\n    clientSecretExpiresAt: 31.03.2027\n'), 'tenants[0].clientSecretExpiresAt: must be an ISO 8601 date or date-time, such as 2027-03-31 or 2027-03-31T12:00:00Z'],
    ['secret expiry not a day', tenantYaml('    clientSecret: a\n    clientSecretExpiresAt: 2027-02-30\n'), 'tenants[0].clientSecretExpiresAt: must be an ISO 8601 date or date-time, such as 2027-03-31 or 2027-03-31T12:00:00Z'],
    ['unknown collector', tenantYaml('    clientSecret: a\n    collectors: [health, incidents]\n'), 'tenants[0].collectors[1]: must be one of health, issues, messages, serviceActivity'],
    ['empty secret', tenantYaml("    clientSecret: ''\n"), 'tenants[0].clientSecret: must not be empty'],
    ['section not a mapping', `${tenantYaml('    clientSecret: a\n')}refresh: 5m\n`, 'refresh: must be a mapping of keys to values'],
    ['tenants missing', 'listen: ":9877"\n', 'tenants: is required: a list of tenants (or tenantsDir: a directory of tenant files)'],
    ['OTLP over gRPC', `${tenantYaml('    clientSecret: a\n')}otlp:\n  endpoint: http://collector:4318/v1/metrics\n  protocol: grpc\n`, 'otlp.protocol: must be http/protobuf or http/json (OTLP over HTTP; gRPC is not supported)'],
  ])('%s: names the file and the field', (_case, yaml, expected) => {
    const path = file(`bad-${_case.replace(/ /g, '-')}.yml`, yaml);
    expect(errorOf(() => loadConfigFile(path, {}))).toBe(`${path}: ${expected}`.replace(`${path}: : `, `${path}: `));
  });

  it.each([
    // setTimeout holds at most 2^31-1 ms; `refresh: 30d` fired at once, over and over.
    ['refresh above a timer', 'refresh:\n  messages: 30d\n', 'refresh.messages: "30d" is longer than the maximum, 24d (a Node.js timer cannot wait longer than 2^31-1 ms, about 24.8 days)'],
    ['refresh below 1s', 'refresh:\n  health: 500ms\n', 'refresh.health: "500ms" is shorter than the minimum, 1s'],
    ['OTLP interval above a timer', 'otlp:\n  endpoint: http://collector:4318/v1/metrics\n  interval: 4w\n', 'otlp.interval: "4w" is longer than the maximum, 24d (a Node.js timer cannot wait longer than 2^31-1 ms, about 24.8 days)'],
    ['retention above a year', 'issueRetention: 2y\n', 'issueRetention: "2y" is longer than the maximum, 365d'],
    ['lookback beyond the API', 'serviceActivity:\n  lookback: 31d\n', 'serviceActivity.lookback: "31d" is longer than the maximum, 30d (the Monitoring API reaches back at most 30 days)'],
    ['settle delay beyond a week', 'serviceActivity:\n  settleDelay: 8d\n', 'serviceActivity.settleDelay: "8d" is longer than the maximum, 7d (buckets must settle well within the 30 days the Monitoring API reaches back)'],
    ['duration as a list', 'readyTimeout: [1m]\n', 'readyTimeout: must be a duration such as 30s, 15m, 1h30m or 7d'],
    ['maxStaleness below the longest refresh', 'refresh:\n  messages: 2h\n', 'maxStaleness: 1h is shorter than refresh.messages (2h); set it (default 1h) to at least 2h, better a few refresh intervals, so that one failed refresh keeps the data'],
    ['maxStaleness set below a refresh', 'maxStaleness: 10m\n', 'maxStaleness: 10m is shorter than refresh.messages (15m); set it (default 1h) to at least 15m, better a few refresh intervals, so that one failed refresh keeps the data'],
  ])('refuses durations a timer or an API cannot hold: %s', (_case, yaml, expected) => {
    const path = file(`bad-${_case.replace(/ /g, '-')}.yml`, `${tenantYaml('    clientSecret: a\n')}${yaml}`);
    expect(errorOf(() => loadConfigFile(path, {}))).toBe(`${path}: ${expected}`);
  });

  it('accepts the limits themselves, and a long refresh of a collector no tenant runs', () => {
    const limits = 'refresh:\n  health: 1s\n  messages: 24d\n  serviceActivity: 24d\nmaxStaleness: 24d\nissueRetention: 365d\nserviceActivity:\n  lookback: 30d\n';
    const config = loadConfigFile(file('limits.yml', `${tenantYaml('    clientSecret: a\n')}${limits}`), {});
    expect(config.refresh).toMatchObject({ health: 1_000, messages: 24 * 86_400_000 });
    expect(config.maxStaleness).toBe(24 * 86_400_000);
    // serviceActivity is not run (no tenant selects Monitoring API functions): its interval does not bind maxStaleness.
    const unused = loadConfigFile(file('unused.yml', `${tenantYaml('    clientSecret: a\n')}refresh:\n  serviceActivity: 2h\n`), {});
    expect(unused.maxStaleness).toBe(3_600_000);
  });

  it('names the missing environment variable and where it is referenced', () => {
    const path = file('env.yml', tenantYaml('    clientSecret: ${NOT_SET_ANYWHERE}\n'));
    expect(errorOf(() => loadConfigFile(path, {}))).toBe(`${path}: tenants[0].clientSecret: environment variable NOT_SET_ANYWHERE is not set`);
  });

  it('reports YAML syntax errors by line and column without quoting the file', () => {
    // yaml's own messages quote the source ("Not a YAML token: <text>", or the whole line as a code frame).
    const cases = [
      ['unclosed quote', '    clientSecret: "hunter2-secret-value\n', 'invalid YAML at line 6, column 1: a closing quote or bracket, a comma, or the "-" of a list item is missing'],
      ['colon in a plain value', '    clientSecret: hunter2: secret-value\n', 'invalid YAML at line 5, column 19: a mapping inside a one-line value; quote a value that contains ": "'],
      ['block scalar header', '    clientSecret: |x hunter2-secret-value\n', 'invalid YAML at line 5, column 20: unexpected characters\n{path}: invalid YAML at line 5, column 22: unexpected characters'],
      ['escape in double quotes', '    clientSecret: "hunter2\\qsecret"\n', 'invalid YAML at line 5, column 27: invalid escape sequence in a double-quoted value (single quotes keep backslashes as they are)'],
    ] as const;
    for (const [name, line, expected] of cases) {
      const path = file(`yaml-${name.replace(/ /g, '-')}.yml`, tenantYaml(line));
      const message = errorOf(() => loadConfigFile(path, {}));
      expect(message, name).toBe(`${path}: ${expected.replace('{path}', path)}`);
      expect(message, name).not.toMatch(/hunter2|secret/);
    }
    expect(errorOf(() => loadConfigFile(file('broken.yml', 'tenants: [\n'), {}))).toBe(`${join(dir, 'broken.yml')}: invalid YAML at line 2, column 1: bad indentation, or a [ or { that is not closed`);
  });

  it('reports unreadable files', () => {
    expect(errorOf(() => loadConfigFile(join(dir, 'missing.yml'), {}))).toBe(`${join(dir, 'missing.yml')}: cannot read config file: ENOENT`);
    expect(errorOf(() => loadConfigFile(file('nofile.yml', tenantYaml('    clientSecretFile: nope.txt\n')), {}))).toBe(`${join(dir, 'nofile.yml')}: tenants[0].clientSecretFile: cannot read ${join(dir, 'nope.txt')}: ENOENT`);
  });
});

describe('environment configuration', () => {
  it('builds one tenant from M365_* variables', () => {
    const config = loadConfigFromEnv({ M365_TENANT_ID: TENANT_ID, M365_CLIENT_ID: CLIENT_ID, M365_CLIENT_SECRET: 's', M365_CLOUD: 'china' });
    expect(config.source).toBe('environment');
    expect(config.tenants[0]).toMatchObject({ name: 'default', tenantId: TENANT_ID, graphEndpoint: 'https://microsoftgraph.chinacloudapi.cn' });
  });

  it('names the variable that is wrong', () => {
    expect(errorOf(() => loadConfigFromEnv({ M365_TENANT_ID: TENANT_ID, M365_CLIENT_SECRET: 's' }))).toBe('environment: M365_CLIENT_ID: is required: the application (client) GUID of the app registration');
    expect(errorOf(() => loadConfigFromEnv({ M365_TENANT_ID: TENANT_ID, M365_CLIENT_ID: CLIENT_ID }))).toBe('environment: M365_* tenant settings: needs one credential: clientSecret, clientSecretFile, clientCertificateFile, clientAssertionFile or managedIdentity');
    expect(errorOf(() => loadConfigFromEnv({ M365_TENANT_ID: TENANT_ID, M365_CLIENT_ID: CLIENT_ID, M365_CLIENT_SECRET: 's', M365_GRAPH_ENDPOINT: 'ftp://x' }))).toBe('environment: M365_GRAPH_ENDPOINT: must be an https:// URL');
  });
});

describe('proxy', () => {
  const env = { M365_TENANT_ID: TENANT_ID, M365_CLIENT_ID: CLIENT_ID, M365_CLIENT_SECRET: 's' };
  const proxyOf = (vars: Record<string, string>) => {
    const proxy = loadConfigFromEnv({ ...env, ...vars }).proxy;
    return proxy && { url: proxy.url.reveal(), noProxy: proxy.noProxy };
  };

  it('is read from HTTPS_PROXY, lowercase first, else HTTP_PROXY, with NO_PROXY', () => {
    expect(proxyOf({})).toBeUndefined();
    expect(proxyOf({ HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128', NO_PROXY: 'a.example, b.example:8443 *.c.example' }))
      .toEqual({ url: 'http://lower:3128', noProxy: ['a.example', 'b.example:8443', '*.c.example'] });
    expect(proxyOf({ HTTP_PROXY: 'http://plain:3128', no_proxy: 'x', NO_PROXY: 'y' })).toEqual({ url: 'http://plain:3128', noProxy: ['x'] });
    expect(proxyOf({ https_proxy: 'http://p:1', HTTP_PROXY: 'http://q:2' })?.url).toBe('http://p:1');
  });

  it('comes from proxy: in the file, which replaces the environment entirely', () => {
    const path = file('proxy.yml', `${tenantYaml('    clientSecret: s\n')}proxy:\n  url: http://user:pa%3Ass@proxy.example:3128\n  noProxy: [internal.example]\n`);
    const config = loadConfigFile(path, { HTTPS_PROXY: 'http://env:1', NO_PROXY: 'env.example' });
    expect(config.proxy?.url.reveal()).toBe('http://user:pa%3Ass@proxy.example:3128');
    expect(config.proxy?.noProxy).toEqual(['internal.example']);
    expect(loadConfigFile(file('noproxy.yml', tenantYaml('    clientSecret: s\n')), { HTTPS_PROXY: 'http://env:1' }).proxy?.url.reveal()).toBe('http://env:1');
  });

  it('keeps its credentials secret in every printout and error', () => {
    const path = file('proxy-secret.yml', `${tenantYaml('    clientSecret: s\n')}proxy:\n  url: http://user:hunter2@proxy.example:3128\n`);
    const config = loadConfigFile(path, {});
    for (const shown of [JSON.stringify(config), inspect(config, { depth: 10 }), JSON.stringify(redactedConfig(config))]) expect(shown).not.toContain('hunter2');
    const bad = file('proxy-bad.yml', `${tenantYaml('    clientSecret: s\n')}proxy:\n  url: socks5://user:hunter2@proxy.example:1080\n`);
    expect(errorOf(() => loadConfigFile(bad, {}))).toBe(`${bad}: proxy.url: must be an http:// or https:// URL such as http://proxy.example:3128 (with credentials: http://user:password@proxy.example:3128)`);
    expect(errorOf(() => loadConfigFromEnv({ ...env, HTTPS_PROXY: 'user:hunter2@proxy' })))
      .toBe('environment: HTTPS_PROXY: must be an http:// or https:// URL such as http://proxy.example:3128 (with credentials: http://user:password@proxy.example:3128)');
  });
});
