/**
 * Why a refresh failed: the closed set of `reason` label values of m365_exporter_collector_errors_total. The type,
 * the metric's HELP text and its zero series all derive from this list. `internal` is a bug of the exporter
 * (anything that is not an ExporterError).
 */
export const ERROR_REASONS = ['graph_error', 'throttled', 'timeout', 'network', 'invalid_response', 'paging', 'budget_exhausted', 'auth', 'internal'] as const;
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

export class NetworkError extends ExporterError {
  override name = 'NetworkError';
  readonly reason = 'network';
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

/** Parses Graph's OData error body (`{error:{code,message,innerError}}`); accepts `innererror` too. */
export function parseODataError(body: string): { code: string; message: string; requestId?: string } | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown; innerError?: Record<string, unknown>; innererror?: Record<string, unknown> } };
    const error = parsed.error;
    if (!error || typeof error.code !== 'string') return undefined;
    const inner = error.innerError ?? error.innererror;
    const requestId = inner?.['request-id'];
    return {
      code: error.code,
      message: typeof error.message === 'string' ? error.message : '',
      requestId: typeof requestId === 'string' ? requestId : undefined,
    };
  } catch {
    return undefined;
  }
}
