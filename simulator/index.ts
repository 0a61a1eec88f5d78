/**
 * Simulated Microsoft Graph tenant (Entra authority + service communications API + beta Monitoring API
 * `reports/serviceActivity`), apart from production code.
 */
export { startSimulator } from './server.js';
export { SERVICE_ACTIVITY_FUNCTIONS, SERVICE_ACTIVITY_WORKLOADS, SERVICE_ACTIVITY_ANOMALY_KINDS } from './serviceActivityCatalogue.js';
export type { ServiceActivityFunctionSpec, ServiceActivityWorkload } from './serviceActivityCatalogue.js';
export { SERVICE_ACTIVITY_RATE_LIMIT } from './graph/serviceActivity.js';
export { SCENARIOS, runScenario } from './scenarios.js';
export type { RunScenarioOptions, Scenario, ScenarioState, ScenarioStep } from './scenarios.js';
export type {
  AddMessageInput,
  Fault,
  GraphEndpointName,
  IssuePatch,
  IssueTemplate,
  OpenIssueInput,
  SimFederatedCredential,
  ServiceActivityAnomalyKind,
  SimRequestLogEntry,
  SimTenant,
  SimTenantSpec,
  Simulator,
  SimulatorOptions,
} from './types.js';
