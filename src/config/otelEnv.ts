/**
 * The OpenTelemetry exporter environment variables for the `otlp:` section
 * (https://opentelemetry.io/docs/specs/otel/protocol/exporter/ and
 * https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/), read here rather than left to
 * the SDK so that they go through the same schema, `--check-config` judges them, and a message names the variable.
 * A metrics-specific variable wins over the general one; a key of the config file wins over both.
 */

/** The `otlp:` keys the environment gave, as the config file would spell them, and the variable each came from. */
export interface OtlpEnvironment {
  values: Record<string, unknown>;
  /** Config key (`endpoint`, `headers`, ...) → the variable it was read from, for messages. */
  sources: Record<string, string>;
}

/** Thrown for a variable that cannot be read at all; the message never holds the variable's value. */
export class OtelEnvError extends Error {
  constructor(readonly variable: string, message: string) {
    super(message);
  }
}

const GENERAL = 'OTEL_EXPORTER_OTLP_';
const METRICS = 'OTEL_EXPORTER_OTLP_METRICS_';

/**
 * The `otlp:` settings the environment holds, or undefined when it names no endpoint and sets nothing else for
 * OTLP, or when OTEL_SDK_DISABLED=true. An endpoint alone enables the push (environment-only setups).
 */
export function otlpFromEnvironment(env: NodeJS.ProcessEnv): OtlpEnvironment | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const values: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  const take = (key: string, variable: string, value: unknown) => {
    values[key] = value;
    sources[key] = variable;
  };
  const either = (suffix: string): [string, string] | undefined => {
    for (const variable of [`${METRICS}${suffix}`, `${GENERAL}${suffix}`]) {
      const value = env[variable]?.trim();
      if (value) return [variable, value];
    }
    return undefined;
  };

  const specific = env[`${METRICS}ENDPOINT`]?.trim();
  const general = env[`${GENERAL}ENDPOINT`]?.trim();
  // The general endpoint is a base URL: the signal's path is appended (spec: "Endpoint URLs for OTLP/HTTP").
  if (specific) take('endpoint', `${METRICS}ENDPOINT`, specific);
  else if (general) take('endpoint', `${GENERAL}ENDPOINT`, `${general.replace(/\/+$/, '')}/v1/metrics`);

  const protocol = either('PROTOCOL');
  if (protocol) take('protocol', ...protocol);
  const compression = either('COMPRESSION');
  if (compression) take('compression', ...compression);
  const timeout = either('TIMEOUT');
  if (timeout) take('timeout', timeout[0], milliseconds(...timeout));
  const interval = env.OTEL_METRIC_EXPORT_INTERVAL?.trim();
  if (interval) take('interval', 'OTEL_METRIC_EXPORT_INTERVAL', milliseconds('OTEL_METRIC_EXPORT_INTERVAL', interval));

  // Both header variables apply, the metrics-specific one winning for the same name.
  const headers: Record<string, string> = {};
  const headerSources: string[] = [];
  for (const variable of [`${GENERAL}HEADERS`, `${METRICS}HEADERS`]) {
    const raw = env[variable];
    if (!raw?.trim()) continue;
    Object.assign(headers, parseHeaders(variable, raw));
    headerSources.push(variable);
  }
  if (headerSources.length > 0) take('headers', headerSources.join(' and '), headers);

  return Object.keys(values).length > 0 ? { values, sources } : undefined;
}

/** The spec's durations are whole milliseconds; as a duration string so the schema's limits apply. */
function milliseconds(variable: string, text: string): string {
  if (!/^\d+$/.test(text)) throw new OtelEnvError(variable, `${variable}: must be a whole number of milliseconds, such as 10000`);
  return `${text}ms`;
}

/**
 * `name1=value1,name2=value2`, values percent-encoded (the W3C Baggage format the spec names). The message of a
 * malformed entry gives its position only: header values are credentials.
 */
function parseHeaders(variable: string, raw: string): Record<string, string> {
  const headers: Record<string, string> = {};
  raw.split(',').forEach((entry, index) => {
    if (entry.trim() === '') return;
    const separator = entry.indexOf('=');
    const name = separator > 0 ? entry.slice(0, separator).trim() : '';
    const value = separator > 0 ? entry.slice(separator + 1).trim() : '';
    if (!name || !value) throw new OtelEnvError(variable, `${variable}: entry ${index + 1} is not name=value (entries are separated by commas, values percent-encoded)`);
    try {
      headers[decodeURIComponent(name)] = decodeURIComponent(value);
    } catch {
      throw new OtelEnvError(variable, `${variable}: entry ${index + 1} is not percent-encoded correctly`);
    }
  });
  return headers;
}
