import type { TenantData } from '../runtime/tenant.js';
import type { DailyHistory } from '../history/daily.js';
import { HISTORICAL_DAYS, HISTORICAL_STATUS, LEGACY_OPERATIONS } from './entities.js';
import { applyQuery, LegacyQueryError, parseQuery } from './query.js';

/** A configured tenant as the legacy paths name it: `{tenant}` is its name, tenant id or domain. */
export interface LegacyTenant {
  name: string;
  tenantId: string;
  data: TenantData;
  /** The tenant's daily history (src/history/), absent when the history store is disabled. */
  history?(days: number): DailyHistory | undefined;
}

export interface LegacyAnswer {
  status: number;
  body: unknown;
}

const odataError = (status: number, code: string, message: string): LegacyAnswer => ({ status, body: { error: { code, message } } });

/** Case-insensitively, as the legacy API took `contoso.com` or the tenant GUID. */
export function findTenant(tenants: readonly LegacyTenant[], segment: string): LegacyTenant | undefined {
  const key = segment.toLowerCase();
  return tenants.find((tenant) => tenant.name.toLowerCase() === key || tenant.tenantId.toLowerCase() === key);
}

/**
 * One `GET /api/v1.0/{tenant}/ServiceComms/{operation}`: the entities wrapped as the legacy API did
 * (`{"@odata.context": …, "value": [...]}`), or an OData error. `root` is the absolute URL of `/api/v1.0/{tenant}`.
 */
export function answerLegacy(tenants: readonly LegacyTenant[], segment: string, operationName: string, query: URLSearchParams, now: Date, root: string): LegacyAnswer {
  const tenant = findTenant(tenants, segment);
  // The answer never lists the configured tenants, as /probe does not.
  if (!tenant) return odataError(404, 'UnknownTenant', `no configured tenant is named '${segment.slice(0, 100)}' or has that tenant id or domain`);
  const historical = operationName.toLowerCase() === HISTORICAL_STATUS.name.toLowerCase();
  const operation = historical ? HISTORICAL_STATUS : LEGACY_OPERATIONS.find((op) => op.name.toLowerCase() === operationName.toLowerCase());
  if (!operation) return odataError(404, 'UnknownOperation', `ServiceComms has no operation '${operationName.slice(0, 60)}'; it has ${[...LEGACY_OPERATIONS.map((op) => op.name), HISTORICAL_STATUS.name].join(', ')}`);
  const history = historical ? tenant.history?.(HISTORICAL_DAYS) : undefined;
  if (historical && !history) return odataError(501, 'NotImplemented', 'HistoricalStatus needs the history store, which is disabled (storage.enabled: false); use CurrentStatus, or Prometheus history of m365_service_status');
  try {
    const options = parseQuery(query, operation.name, operation.filterable, operation.properties);
    const entities = history ? HISTORICAL_STATUS.entities(history) : (operation as (typeof LEGACY_OPERATIONS)[number]).entities(tenant.data, now);
    const value = applyQuery(entities, options, (operation as { defaultTop?: number }).defaultTop);
    const shape = options.select ? `(${options.select.join(',')})` : '';
    return { status: 200, body: { '@odata.context': `${root}/ServiceComms/$metadata#${operation.name}${shape}`, value } };
  } catch (error) {
    if (error instanceof LegacyQueryError) return odataError(400, error.code, error.message);
    throw error;
  }
}
