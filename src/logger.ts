import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stderr. Credentials never reach a log call (they are `Secret`s), and these paths are redacted as a second guard. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: { app: 'm365-health-exporter' },
      redact: { paths: ['*.clientSecret', '*.secret', '*.privateKey', '*.access_token', '*.authorization', 'headers.authorization'], censor: '<secret>' },
    },
    pino.destination(2),
  );
}
