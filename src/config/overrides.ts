import type { z } from 'zod';
import { ConfigError, type Config } from './load.js';
import { configSchema } from './schema.js';
import { maxConnectionsSchema } from './web.js';

/** Settings flags give: three override the file's, the connection limit exists only as a flag. */
export interface FlagSettings extends Partial<Pick<Config, 'listen' | 'logLevel' | 'logFormat'>> {
  maxConnections?: number;
}

const SCHEMAS: Record<keyof FlagSettings, z.ZodType> = {
  listen: configSchema.shape.listen,
  logLevel: configSchema.shape.logLevel,
  logFormat: configSchema.shape.logFormat,
  maxConnections: maxConnectionsSchema,
};

export interface FlagValue {
  /** The flag as given, for messages: `--web.listen-address` or its alias `--listen`. */
  flag: string;
  field: keyof FlagSettings;
  value: string;
}

/**
 * Flag values as settings, each checked by the same schema as the file's field, so a flag can never carry a value
 * the file could not. A ConfigError names every bad flag.
 */
export function parseFlagValues(values: FlagValue[]): FlagSettings {
  const settings: FlagSettings = {};
  const problems: string[] = [];
  for (const { flag, field, value } of values) {
    const parsed = SCHEMAS[field].safeParse(value);
    if (parsed.success) Object.assign(settings, { [field]: parsed.data });
    else problems.push(`${flag}: ${parsed.error.issues.map((issue) => issue.message).join('; ')}`);
  }
  if (problems.length > 0) throw new ConfigError(problems.join('\n'));
  return settings;
}
