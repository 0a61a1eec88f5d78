/** Simulated Microsoft Graph tenant (Entra authority + service communications API), apart from production code. */
export { startSimulator } from './server.js';
export { SCENARIOS, runScenario } from './scenarios.js';
export type { RunScenarioOptions, Scenario, ScenarioState, ScenarioStep } from './scenarios.js';
export type {
  AddMessageInput,
  Fault,
  GraphEndpointName,
  IssuePatch,
  IssueTemplate,
  OpenIssueInput,
  SimRequestLogEntry,
  SimTenant,
  SimTenantSpec,
  Simulator,
  SimulatorOptions,
} from './types.js';
