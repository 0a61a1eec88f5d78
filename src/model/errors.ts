/**
 * Why a refresh failed: the closed set of `reason` label values of m365_exporter_collector_errors_total. The type,
 * the metric's HELP text and its zero series all derive from this list. `internal` is a bug of the exporter
 * (anything that is not an ExporterError).
 */
export const ERROR_REASONS = [
  'graph_error', 'throttled', 'timeout', 'network', 'redirect', 'too_large', 'invalid_response', 'paging', 'budget_exhausted', 'auth', 'internal',
] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

/** The reason to count for any error a refresh throws. */
export function reasonOf(error: unknown): ErrorReason {
  return error instanceof ExporterError ? error.reason : 'internal';
}

/** Base of every failure talking to Entra ID or Graph; `reason` is a bounded label value for metrics. */
export abstract class ExporterError extends Error {
  abstract readonly reason: ErrorReason;
}

/** Graph answered with an HTTP error; fields come from the OData error body when it has one. */
export class GraphError extends ExporterError {
  override name = 'GraphError';
  readonly reason: ErrorReason;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly endpoint: string,
    readonly requestId?: string,
  ) {
    super(`Graph ${endpoint} answered ${status} ${code}: ${message}${requestId ? ` (request-id ${requestId})` : ''}`);
    this.reason = status === 429 ? 'throttled' : 'graph_error';
  }
}

/** The response was not what the API reference promises (not JSON, wrong shape). */
export class InvalidResponseError extends ExporterError {
  override name = 'InvalidResponseError';
  readonly reason = 'invalid_response';
}

export class PagingError extends ExporterError {
  override name = 'PagingError';
  readonly reason = 'paging';
}

export class TimeoutError extends ExporterError {
  override name = 'TimeoutError';
  readonly reason = 'timeout';
}

/** No answer: DNS, connection refused or reset, TLS (certificate) failure, proxy refusal. */
export class NetworkError extends ExporterError {
  override name = 'NetworkError';
  readonly reason = 'network';
}

/** Graph or Entra ID answered 3xx. Redirects are never followed: the token must not go where a response says. */
export class RedirectError extends ExporterError {
  override name = 'RedirectError';
  readonly reason = 'redirect';

  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** The response body grew past the size limit (counted after decompression); it was not read further. */
export class TooLargeError extends ExporterError {
  override name = 'TooLargeError';
  readonly reason = 'too_large';

  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** Sending the request would exceed Graph's documented per-tenant limits; we refuse before Graph has to. */
export class BudgetExhaustedError extends ExporterError {
  override name = 'BudgetExhaustedError';
  readonly reason = 'budget_exhausted';
}

/** Entra ID refused a token; `code` is the AADSTS code (e.g. AADSTS7000222: the client secret expired). */
export class TokenError extends ExporterError {
  override name = 'TokenError';
  readonly reason = 'auth';

  constructor(readonly code: string, message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * Parses Graph's OData error body (`{error:{code,message,innerError}}`; `innererror` too). Only bounded fields come
 * out: a code that looks like one, the message's first line (see `excerpt`), a request id that looks like one; the
 * rest of the body (which may echo the request, headers included) is never quoted.
 */
export function parseODataError(body: string, hide: readonly string[] = []): { code: string; message: string; requestId?: string } | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown; innerError?: Record<string, unknown>; innererror?: Record<string, unknown> } };
    const error = parsed.error;
    if (!error || typeof error.code !== 'string') return undefined;
    const inner = error.innerError ?? error.innererror;
    const requestId = inner?.['request-id'];
    return {
      code: TOKEN_LIKE.test(error.code) ? error.code : 'unknown',
      message: typeof error.message === 'string' ? excerpt(error.message, hide) : '',
      requestId: typeof requestId === 'string' && TOKEN_LIKE.test(requestId) ? requestId : undefined,
    };
  } catch {
    return undefined;
  }
}

/** Codes and ids as Graph and Entra ID write them (`InvalidAuthenticationToken`, a GUID); anything else is not quoted. */
const TOKEN_LIKE = /^[A-Za-z0-9_.:-]{1,100}$/;
const EXCERPT_CHARS = 300;

/**
 * What an error message may quote of a text a server sent: its first line, at most 300 characters, with every value
 * of `hide` (the token or client secret we sent, should a server echo it) replaced by `<secret>` before cutting, so
 * no prefix of one survives. Entra ID descriptions continue with trace and correlation ids on further lines. Values
 * shorter than 8 characters are not credentials Entra ID issues, and hiding them would mangle the text.
 */
export function excerpt(text: string, hide: readonly string[] = []): string {
  let line = text.split(/\r?\n/)[0]!;
  for (const value of hide) if (value.length >= 8) line = line.split(value).join('<secret>');
  return line.length > EXCERPT_CHARS ? `${line.slice(0, EXCERPT_CHARS)}…` : line;
}
