/**
 * The logger scrubs every configured secret from every line, whatever carries it (a message, an error an upstream
 * answered with, a library's bindings), in every form a JSON line can hold it; and writes logfmt or pino's JSON.
 */
import { describe, expect, it } from 'vitest';
import { Secret, secretValues } from '../src/config/secret.js';
import { Logging, toLogfmt } from '../src/logger.js';
import { certificateAuthority } from './helpers/certificates.js';

function capture(format: 'logfmt' | 'json' = 'json') {
  const lines: string[] = [];
  const logging = new Logging({ level: 'debug', format, sink: { write: (line: string) => lines.push(line) } });
  return { logging, logger: logging.logger, lines, text: () => lines.join('') };
}

describe('secret scrubbing', () => {
  const CLIENT_SECRET = 'Xy8Q~abc.DEF_ghi-jkl"mno\\pqr stu+vw/z=';

  it('replaces a secret wherever an upstream echoed it: message, error, nested field, URL-encoded form body', () => {
    const { logging, logger, lines, text } = capture();
    logging.addSecrets([CLIENT_SECRET]);
    const echoed = new Error(`AADSTS7000215: Invalid client secret provided: ${CLIENT_SECRET}`);
    logger.error({ err: echoed, tenant: 'contoso' }, 'token request failed');
    logger.warn({ response: { body: `client_id=x&client_secret=${encodeURIComponent(CLIENT_SECRET)}&grant_type=client_credentials` } }, 'echo');
    logger.info(`message with ${CLIENT_SECRET} inside`);
    logger.child({ credential: CLIENT_SECRET }).debug('child bindings');
    expect(lines).toHaveLength(4);
    expect(text()).not.toContain('Xy8Q~abc');
    expect(text()).not.toContain(encodeURIComponent(CLIENT_SECRET));
    expect(text().match(/<secret>/g)).toHaveLength(1 + 1 + 1 + 1 + 1); // err.message and err.stack, body, msg, binding
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(JSON.parse(lines[0]!).err.message).toBe('AADSTS7000215: Invalid client secret provided: <secret>');
  });

  it('replaces a private key whole, JSON-escaped, and each of its lines quoted alone', async () => {
    const { key } = await certificateAuthority('scrub test');
    const { logging, logger, lines } = capture();
    logging.addSecrets(secretValues({ tenants: [{ credential: { kind: 'certificate', privateKey: new Secret(key) } }] }));
    const bodyLine = key.split('\n')[1]!;
    logger.error({ err: new Error(`bad key:\n${key}`) }, 'failed');
    logger.warn(`decoder choked on line 2: ${bodyLine}`);
    expect(JSON.parse(lines[0]!).err.message).toBe('bad key:\n<secret>');
    expect(JSON.parse(lines[1]!).msg).toBe('decoder choked on line 2: <secret>');
  });

  it('keeps scrubbing secrets replaced by a reload, and scrubs the new ones', () => {
    const { logging, logger, text } = capture();
    logging.addSecrets(['old-secret-value-1234']);
    logging.addSecrets(['new-secret-value-5678']);
    logger.info('old-secret-value-1234 new-secret-value-5678');
    expect(JSON.parse(text()).msg).toBe('<secret> <secret>');
  });

  it('replaces a secret that contains another as a whole', () => {
    const { logging, logger, text } = capture();
    logging.addSecrets(['abcdef', 'abcdef-and-more']);
    logger.info('abcdef-and-more');
    expect(JSON.parse(text()).msg).toBe('<secret>');
  });

  it('finds every Secret of a configuration, wherever it sits', () => {
    const config = {
      tenants: [{ credential: { kind: 'secret', secret: new Secret('s1'), expiresAt: new Date() } }, { credential: { privateKey: new Secret('k2') } }],
      otlp: { headers: { Authorization: new Secret('Bearer t3') } },
      listen: ':9877',
    };
    expect(secretValues(config)).toEqual(['s1', 'k2', 'Bearer t3']);
  });

  it('scrubs logfmt lines too', () => {
    const { logging, logger, text } = capture('logfmt');
    logging.addSecrets([CLIENT_SECRET]);
    logger.error({ err: new Error(`echo ${CLIENT_SECRET}`) }, 'failed');
    expect(text()).not.toContain('Xy8Q~abc');
    expect(text()).toContain('err.message="echo <secret>"');
  });
});

describe('formats', () => {
  it('writes logfmt by default: time, level and msg first, nested fields dotted, quoted where needed', () => {
    const lines: string[] = [];
    const { logger } = new Logging({ sink: { write: (line: string) => lines.push(line) } });
    logger.info({ address: 'http://127.0.0.1:9877', tenants: 2, detail: { kind: 'x', text: 'a "quoted" word' } }, 'listening');
    logger.debug('not at info');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=info msg=listening app=m365-health-exporter address=http:\/\/127\.0\.0\.1:9877 tenants=2 detail\.kind=x detail\.text="a \\"quoted\\" word"\n$/);
  });

  it('follows a reload of level and format', () => {
    const { logging, logger, lines } = capture('json');
    logging.configure({ level: 'warn', format: 'logfmt' });
    logger.info('hidden');
    logger.warn('shown');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/ level=warn msg=shown /);
  });

  it('converts a pino line, and passes a line that is not JSON unchanged', () => {
    expect(toLogfmt('{"level":50,"time":0,"msg":"x y","n":null,"list":[1,2],"empty":""}\n'))
      .toBe('time=1970-01-01T00:00:00.000Z level=error msg="x y" n=null list=[1,2] empty=""\n');
    expect(toLogfmt('plain text\n')).toBe('plain text\n');
  });
});
