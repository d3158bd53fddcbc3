/** Anomaly detectors, traps and alert routing (docs/detectors.md, docs/alerts.md). */
export { DetectorEngine, SEVERITY_SCORE, buildDetectors, type EngineOptions } from './engine.js';
export { Observation, type Detector, type Firing, type Phase } from './observation.js';
export { TrapListener, openTraps } from './traps.js';
export {
  SEVERITIES,
  defaultDetectorsConfig,
  detectorsSchema,
  trapSchema,
  type DetectorsConfig,
  type Severity,
  type TrapConfig,
} from './schema.js';
export { startMonitoring, type Monitoring } from './monitor.js';
