import { pino, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `logfmt` as node_exporter and the Prometheus server write by default; `json` is pino's own line format. */
export const LOG_FORMATS = ['logfmt', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Where finished lines go: stderr, or a test's buffer. */
export interface LogSink {
  write(line: string): unknown;
}

export interface LoggingOptions {
  /** @default 'info' */
  level?: LogLevel;
  /** @default 'logfmt' */
  format?: LogFormat;
  /** @default stderr, written synchronously so nothing is lost when the process exits */
  sink?: LogSink;
}

const SCRUBBED = '<secret>';
/** A line of a multi-line secret (a PEM private key) at least this long is a secret of its own: a log may quote one line. */
const MIN_SECRET_LINE = 16;
const LEVEL_NAMES: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/**
 * The process's logging: one pino logger, every line of which passes through here before it is written. Here every
 * configured secret value is replaced by `<secret>`, whatever put it into the line (an upstream error that echoes the
 * request, a library's debug output, a stack trace), so no log call can bypass it; then the line is formatted.
 * Level and format follow configuration reloads, and secrets are added as they are configured (never removed: a
 * replaced client secret stays valid in Entra ID until someone deletes it there).
 */
export class Logging {
  readonly logger: Logger;
  #format: LogFormat;
  readonly #secrets = new Set<string>();
  #pattern?: RegExp;

  constructor({ level = 'info', format = 'logfmt', sink = pino.destination({ dest: 2, sync: true }) }: LoggingOptions = {}) {
    this.#format = format;
    this.logger = pino(
      {
        level,
        base: { app: 'm365-health-exporter' },
        // A second guard for fields that carry credentials by name; the scrubber below is the first.
        redact: { paths: ['*.clientSecret', '*.secret', '*.privateKey', '*.access_token', '*.authorization', 'headers.authorization'], censor: SCRUBBED },
      },
      { write: (line: string) => sink.write(this.#render(line)) },
    );
  }

  configure({ level, format }: { level: LogLevel; format: LogFormat }): void {
    this.logger.level = level;
    this.#format = format;
  }

  /** Values to scrub from every line from now on, in every form a line may carry them. */
  addSecrets(values: Iterable<string>): void {
    const before = this.#secrets.size;
    for (const value of values) for (const form of formsOf(value)) this.#secrets.add(form);
    if (this.#secrets.size === before) return;
    // Longest first, so a secret that contains another is replaced whole.
    const alternatives = [...this.#secrets].sort((a, b) => b.length - a.length).map((form) => form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.#pattern = new RegExp(alternatives.join('|'), 'g');
  }

  scrub(text: string): string {
    return this.#pattern ? text.replace(this.#pattern, SCRUBBED) : text;
  }

  #render(line: string): string {
    const scrubbed = this.scrub(line);
    return this.#format === 'json' ? scrubbed : toLogfmt(scrubbed);
  }
}

/**
 * How a secret can appear in a JSON log line: as itself, JSON-escaped (a PEM key's newlines become \n), URL-encoded
 * (a form body such as the token request's client_secret=…, echoed), and for a multi-line secret each long line alone.
 */
function formsOf(value: string): string[] {
  if (value === '') return [];
  const jsonEscaped = JSON.stringify(value).slice(1, -1);
  const urlEncoded = encodeURIComponent(value);
  const lines = value.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length >= MIN_SECRET_LINE && !line.startsWith('-----'));
  return [value, jsonEscaped, urlEncoded, urlEncoded.replace(/%20/g, '+'), ...(lines.length > 1 ? lines : [])];
}

/**
 * One pino JSON line as logfmt (https://brandur.org/logfmt): time, level and msg first, then the other fields in
 * order, nested objects flattened with dots (err.message, err.stack). A line that is not JSON passes unchanged.
 */
export function toLogfmt(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const { time, level, msg, ...rest } = record;
  const pairs: string[] = [
    `time=${typeof time === 'number' ? new Date(time).toISOString() : logfmtValue(time)}`,
    `level=${LEVEL_NAMES[level as number] ?? logfmtValue(level)}`,
  ];
  if (msg !== undefined) pairs.push(`msg=${logfmtValue(msg)}`);
  const add = (prefix: string, value: unknown): void => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) add(`${prefix}.${key}`, inner);
    } else {
      pairs.push(`${prefix}=${logfmtValue(value)}`);
    }
  };
  for (const [key, value] of Object.entries(rest)) add(key, value);
  return `${pairs.join(' ')}\n`;
}

function logfmtValue(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? '';
  return text === '' || /[\s"=\\\x00-\x1f\x7f]/.test(text) ? JSON.stringify(text) : text;
}
