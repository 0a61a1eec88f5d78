/**
 * The web config file (exporter-toolkit's format): valid files load with their defaults, and each invalid one fails
 * with its exact message, as blackbox_exporter pairs testdata/invalid-*.yml with the error expected.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadWebConfig } from '../../src/config/web.js';
import { certificateAuthority, issue } from '../helpers/certificates.js';

const dir = mkdtempSync(join(tmpdir(), 'm365-web-config-'));
const HASH = bcrypt.hashSync('scrape-password', 4).replace(/^\$2b\$/, '$2y$'); // htpasswd -B writes $2y$

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

beforeAll(async () => {
  const ca = await certificateAuthority('web test CA');
  const server = await issue(ca, 'exporter', 'server');
  const other = await issue(ca, 'other', 'server');
  file('ca.pem', ca.cert);
  file('server.pem', server.cert);
  file('server.key', server.key);
  // The README example's file names.
  file('clients-ca.crt', ca.cert);
  file('server.crt', server.cert);
  file('other.key', other.key);
  file('not-pem.txt', 'hello\n');
});

describe('web config', () => {
  it('loads TLS, users and headers, with exporter-toolkit\'s defaults and paths relative to the file', () => {
    const path = file('ok.yml', [
      'tls_server_config: {cert_file: server.pem, key_file: server.key}',
      `basic_auth_users: {prometheus: "${HASH}"}`,
      'http_server_config: {headers: {X-Frame-Options: sameorigin, Strict-Transport-Security: max-age=31536000, Content-Security-Policy: ""}}',
    ].join('\n'));
    const config = loadWebConfig(path);
    expect(config.tls).toMatchObject({ clientAuth: 'NoClientCert', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', clientCaPem: undefined });
    expect(config.tls?.certPem).toContain('BEGIN CERTIFICATE');
    expect(String(config.tls?.keyPem)).toBe('<secret>');
    expect(config.users.get('prometheus')?.reveal()).toBe(HASH);
    // An empty value means "not configured", as the toolkit documents ("Unset if blank").
    expect(config.headers).toEqual({ 'X-Frame-Options': 'sameorigin', 'Strict-Transport-Security': 'max-age=31536000' });
    expect(config.files).toEqual([path, join(dir, 'server.pem'), join(dir, 'server.key')]);
  });

  it('accepts an empty file (no TLS, no users) and client certificates verified against a CA', () => {
    const empty = loadWebConfig(file('empty.yml', ''));
    expect(empty.tls).toBeUndefined();
    expect(empty).toMatchObject({ headers: {}, users: new Map() });
    const config = loadWebConfig(file('mtls.yml', 'tls_server_config: {cert_file: server.pem, key_file: server.key, client_ca_file: ca.pem, client_auth_type: RequireAndVerifyClientCert, min_version: TLS13}'));
    expect(config.tls).toMatchObject({ clientAuth: 'RequireAndVerifyClientCert', minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    expect(config.tls?.clientCaPem).toContain('BEGIN CERTIFICATE');
  });

  it('accepts the README\'s example', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const example = readme.match(/```yaml\n(# web\.yml[\s\S]*?)```/)![1]!.replaceAll('/etc/m365-health-exporter/tls/', `${dir}/`);
    const config = loadWebConfig(file('readme.yml', example));
    expect(config.tls).toMatchObject({ clientAuth: 'RequireAndVerifyClientCert', minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
    expect(bcrypt.compareSync('the password', config.users.get('prometheus')!.reveal())).toBe(true);
    expect(config.headers).toEqual({ 'Strict-Transport-Security': 'max-age=31536000' });
  });

  const invalid: Array<[string, string, (path: string) => string]> = [
    ['an unknown key', 'tls_server_config: {cert_file: server.pem, key_file: server.key, cert_flie: x}\nbasic_auth: {}',
      (p) => `${p}: tls_server_config: unknown field(s) "cert_flie"\n${p}: unknown field(s) "basic_auth"`],
    ['a toolkit setting this exporter does not implement', 'tls_server_config: {cert_file: server.pem, key_file: server.key, cipher_suites: [TLS_AES_128_GCM_SHA256]}\nrate_limit: {interval: 1s, burst: 5}\nhttp_server_config: {http2: false}',
      (p) => [
        `${p}: tls_server_config.cipher_suites: is an exporter-toolkit setting this exporter does not support (Node.js picks its own, OpenSSL's defaults)`,
        `${p}: http_server_config.http2: is an exporter-toolkit setting this exporter does not support (it serves HTTP/1.1, which Prometheus scrapes with by default)`,
        `${p}: rate_limit: is an exporter-toolkit setting this exporter does not support`,
      ].join('\n')],
    ['an inline key', 'tls_server_config: {cert_file: server.pem, key: "-----BEGIN PRIVATE KEY-----"}',
      (p) => `${p}: tls_server_config.key_file: is required\n${p}: tls_server_config.key: is an exporter-toolkit setting this exporter does not support; put the key in a file for key_file`],
    ['a client auth type Go does not have', 'tls_server_config: {cert_file: server.pem, key_file: server.key, client_auth_type: RequireClientCert}',
      (p) => `${p}: tls_server_config.client_auth_type: must be one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert`],
    ['a TLS version below 1.2', 'tls_server_config: {cert_file: server.pem, key_file: server.key, min_version: TLS10}',
      (p) => `${p}: tls_server_config.min_version: must be TLS12 or TLS13`],
    ['min_version above max_version', 'tls_server_config: {cert_file: server.pem, key_file: server.key, min_version: TLS13, max_version: TLS12}',
      (p) => `${p}: tls_server_config.min_version: TLS13 is above max_version TLS12`],
    ['a client CA without a policy that uses it', 'tls_server_config: {cert_file: server.pem, key_file: server.key, client_ca_file: ca.pem}',
      (p) => `${p}: tls_server_config.client_auth_type: is NoClientCert but client_ca_file is set; use RequireAndVerifyClientCert to require certificates signed by that CA`],
    ['verification without a client CA', 'tls_server_config: {cert_file: server.pem, key_file: server.key, client_auth_type: RequireAndVerifyClientCert}',
      (p) => `${p}: tls_server_config.client_ca_file: is required with client_auth_type RequireAndVerifyClientCert: client certificates are verified against it`],
    ['a missing certificate file', 'tls_server_config: {cert_file: missing.pem, key_file: server.key}',
      (p) => `${p}: tls_server_config.cert_file: cannot read ${join(dir, 'missing.pem')}: ENOENT`],
    ['a certificate file without a certificate', 'tls_server_config: {cert_file: not-pem.txt, key_file: server.key}',
      (p) => `${p}: tls_server_config.cert_file: ${join(dir, 'not-pem.txt')} holds no PEM certificate`],
    ['a key that is not a key', 'tls_server_config: {cert_file: server.pem, key_file: not-pem.txt}',
      (p) => `${p}: tls_server_config.key_file: ${join(dir, 'not-pem.txt')} holds no usable unencrypted private key: error:1E08010C:DECODER routines::unsupported`],
    ['the key of another certificate', 'tls_server_config: {cert_file: server.pem, key_file: other.key}',
      (p) => `${p}: tls_server_config.key_file: ${join(dir, 'other.key')} is not the private key of the certificate in ${join(dir, 'server.pem')}`],
    ['a client CA file without a certificate', 'tls_server_config: {cert_file: server.pem, key_file: server.key, client_ca_file: not-pem.txt, client_auth_type: RequireAndVerifyClientCert}',
      (p) => `${p}: tls_server_config.client_ca_file: ${join(dir, 'not-pem.txt')} holds no PEM certificate`],
    ['a header the toolkit does not allow', 'http_server_config: {headers: {Server: nginx}}',
      (p) => `${p}: http_server_config.headers.Server: HTTP header "Server" can not be configured; these can: Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, Content-Security-Policy`],
    ['a header value the toolkit does not allow', 'http_server_config: {headers: {X-Frame-Options: allow-from}}',
      (p) => `${p}: http_server_config.headers.X-Frame-Options: must be "deny" or "sameorigin", not "allow-from"`],
    ['a plain-text password where a hash belongs, without repeating it', 'basic_auth_users: {prometheus: hunter2-plain-password}',
      (p) => `${p}: basic_auth_users.prometheus: must be a bcrypt hash such as $2y$10$..., made with htpasswd -nBC 10 "" | tr -d ':\\n'`],
    ['a user name with a colon', `basic_auth_users: {"a:b": "${HASH}"}`,
      (p) => `${p}: basic_auth_users.a:b: a user name must not be empty nor contain ":" (basic auth separates user and password with it)`],
    ['YAML that does not parse, without quoting the line', `basic_auth_users: {prometheus: "${HASH}}`,
      (p) => [
        `${p}: invalid YAML at line 1, column 94: a closing quote or bracket, a comma, or the "-" of a list item is missing`,
        `${p}: invalid YAML at line 1, column 94: bad indentation, or a [ or { that is not closed`,
      ].join('\n')],
    ['a missing file', '', () => `${join(dir, 'absent.yml')}: cannot read web config file: ENOENT`],
  ];

  it.each(invalid)('refuses %s with its exact message', (name, text, expected) => {
    const path = name === 'a missing file' ? join(dir, 'absent.yml') : file(`bad-${invalid.findIndex(([other]) => other === name)}.yml`, text);
    let message = '';
    try {
      loadWebConfig(path);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe(expected(path));
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain(HASH.slice(7));
  });
});
