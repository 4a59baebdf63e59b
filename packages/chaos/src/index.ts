export { loadProxyConfigFile, parseProxyConfig } from './config/config-file.js';
export type {
  Action,
  ExperimentDefinition,
  HttpFaultAction,
  HttpFaultMatch,
  Probe,
  SteadyState,
} from './experiment/definition.js';
export { ExperimentError, ExperimentErrorCode, isExperimentError } from './experiment/errors.js';
export {
  type ActivityRecord,
  type CleanupRecord,
  ExperimentExitCode,
  type ExperimentStatus,
  exitCodeOf,
  type HypothesisCheck,
  type Journal,
  type ProbeResult,
} from './experiment/journal.js';
export { loadExperiment, parseExperiment, validateExperiment } from './experiment/load-experiment.js';
export {
  type ExperimentRun,
  experimentChannel,
  type RunExperimentOptions,
  runExperiment,
  startExperiment,
} from './experiment/run-experiment.js';
export { type FaultBehaviorOptions, FaultBehaviorPolicy, faultBehavior } from './inprocess/fault-behavior.js';
export { type FaultErrorOptions, FaultErrorPolicy, faultError } from './inprocess/fault-error.js';
export { type FaultLatencyOptions, FaultLatencyPolicy, faultLatency } from './inprocess/fault-latency.js';
export {
  type FaultContext,
  type FaultOptions,
  FaultPolicy,
  type FaultTimers,
  faultChannel,
} from './inprocess/fault-policy.js';
export { type FaultResultOptions, FaultResultPolicy, faultResult } from './inprocess/fault-result.js';
export { ChaosErrorCode, FaultlineChaosError, isFaultlineChaosError } from './proxy/errors.js';
export { type ChaosEvent, chaosChannels } from './proxy/events.js';
export type { HttpFaultRecord } from './proxy/http-exchange.js';
export type {
  ProxyConfig,
  ProxyJson,
  ProxyStats,
  ProxyUpdate,
  ToxicConfig,
  ToxicJson,
  ToxicStream,
  ToxicUpdate,
} from './proxy/model.js';
export type { ProxyRegistry } from './proxy/registry.js';
export { type ProxyServer, type ProxyServerOptions, startProxyServer } from './proxy/server.js';
export { toxicTypes } from './toxics/catalog.js';
export type { ToxicAttributeValue } from './toxics/stage.js';
export { CHAOS_VERSION } from './version.js';
