import { CLASSIFICATIONS_EXPORTED } from './issues.js';
import { SERVICE_HEALTH_STATUSES, canonicalEnum, isOperational } from '../graph/enums.js';
import { serviceHealthSchema } from '../graph/resources.js';
import { METRICS } from '../model/metrics.js';
import { readServiceAnnouncement, type Sourced } from './serviceAnnouncement.js';
import { intern } from './intern.js';
import type { Collector } from './types.js';

export interface HealthSnapshot extends Sourced {
  services: Array<{ id: string; name: string; status: string }>;
}


/** `GET /admin/serviceAnnouncement/healthOverviews`: every service of the tenant and its status. */
export const healthOverviewsCollector: Collector<HealthSnapshot, unknown> = {
  name: 'health',

  async fetch(context, previous) {
    const read = await readServiceAnnouncement(context, 'healthOverviews', serviceHealthSchema, previous);
    if (!read) return previous!;
    const services = read.items.map((item) => ({
      id: intern(item.id),
      name: intern(item.service),
      status: canonicalEnum(item.status, SERVICE_HEALTH_STATUSES),
    }));
    const before = new Map(previous?.services.map((s) => [s.id, s.status]));
    const current = new Set(services.map((s) => s.id));
    for (const id of before.keys()) {
      // A service that left healthOverviews takes its counters with it (rule 2 of shared/STYLE.md).
      if (!current.has(id)) for (const metric of [METRICS.statusChanges, METRICS.issuesObserved]) context.forget(metric, { service_id: id });
    }
    for (const service of services) {
      const changed = previous !== undefined && before.has(service.id) && before.get(service.id) !== service.status;
      context.count(METRICS.statusChanges, { service_id: service.id }, changed ? 1 : 0);
      for (const classification of CLASSIFICATIONS_EXPORTED) {
        context.count(METRICS.issuesObserved, { service_id: service.id, classification }, 0);
      }
    }
    return { services, source: read.source };
  },

  write(snapshot, _view, out) {
    for (const service of snapshot.services) {
      out.add(METRICS.serviceInfo, { service_id: service.id, service_name: service.name }, 1);
      out.add(METRICS.serviceOperational, { service_id: service.id }, isOperational(service.status) ? 1 : 0);
      for (const status of SERVICE_HEALTH_STATUSES) {
        out.add(METRICS.serviceStatus, { service_id: service.id, status }, status === service.status ? 1 : 0);
      }
      if (!(SERVICE_HEALTH_STATUSES as readonly string[]).includes(service.status)) {
        out.add(METRICS.serviceStatus, { service_id: service.id, status: service.status }, 1);
      }
    }
  },
};
