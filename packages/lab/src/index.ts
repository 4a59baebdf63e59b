export type { AppConfig, LabMode } from './app/app-config.js';
export type {
  BackendTarget,
  BalancerEvent,
  BalancerEventKind,
  BalancerOptions,
  BalancerPolicy,
  BalancingAlgorithm,
  HealthCheckOptions,
  PassiveEjectionOptions,
} from './balancer/balancer-options.js';
export { baselineBalancer, hardenedBalancer } from './balancer/balancer-presets.js';
export {
  type BackendState,
  NO_HEALTHY_UPSTREAM,
  type RunningBalancer,
  startBalancer,
} from './balancer/load-balancer.js';
export { type DbChoice, type LabDatabase, parseDbChoice } from './db/provision.js';
export {
  findPostgresBin,
  postgresUnavailable,
  startPostgres,
  type TempPostgres,
} from './db/temp-postgres.js';
export {
  CAREFUL_CLIENT,
  type ClientPolicy,
  NAIVE_CLIENT,
  type RequestOutcome,
} from './load/load-generator.js';
export { type ModeSummary, summarize } from './run/mode-summary.js';
export {
  type LabModeChoice,
  type LabOptions,
  type LabProgress,
  type LabResult,
  type LabSummary,
  type ModeFigures,
  runLab,
} from './run/run-lab.js';
export { DEFAULT_STACK, type ModeProgress, type StackOptions } from './run/run-mode.js';
export { DEFAULT_SCENARIO, findScenario, scenarios } from './scenarios/catalog.js';
export type { Action, AppTarget, Scenario, Step } from './scenarios/scenario.js';
export { version } from './version.js';
