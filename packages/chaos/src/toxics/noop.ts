import { PassStage, type StreamToxicKind } from './stage.js';

/** `noop`: passes data unchanged (a stage in the chain all the same, as in Toxiproxy). */
export const noopToxic: StreamToxicKind = {
  type: 'noop',
  level: 'stream',
  attributes: [],
  create: () => new PassStage(),
};
