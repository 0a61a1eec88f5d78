import type { TenantData } from '../runtime/tenant.js';
import { LEGACY_OPERATIONS } from './entities.js';
import { applyQuery, LegacyQueryError, parseQuery } from './query.js';

/** A configured tenant as the legacy paths name it: `{tenant}` is its name, tenant id or domain. */
export interface LegacyTenant {
  name: string;
  tenantId: string;
  data: TenantData;
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
  if (operationName.toLowerCase() === 'historicalstatus') {
    return odataError(501, 'NotImplemented', 'HistoricalStatus comes with the history store (daily status per service); until then use CurrentStatus, or Prometheus history of m365_service_status');
  }
  const operation = LEGACY_OPERATIONS.find((op) => op.name.toLowerCase() === operationName.toLowerCase());
  if (!operation) return odataError(404, 'UnknownOperation', `ServiceComms has no operation '${operationName.slice(0, 60)}'; it has ${[...LEGACY_OPERATIONS.map((op) => op.name), 'HistoricalStatus'].join(', ')}`);
  try {
    const options = parseQuery(query, operation.name, operation.filterable, operation.properties);
    const value = applyQuery(operation.entities(tenant.data, now), options, operation.defaultTop);
    const shape = options.select ? `(${options.select.join(',')})` : '';
    return { status: 200, body: { '@odata.context': `${root}/ServiceComms/$metadata#${operation.name}${shape}`, value } };
  } catch (error) {
    if (error instanceof LegacyQueryError) return odataError(400, error.code, error.message);
    throw error;
  }
}
