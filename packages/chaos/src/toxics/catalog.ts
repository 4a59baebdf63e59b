import { bandwidthToxic } from './bandwidth.js';
import { delayAcceptToxic, refuseConnectionToxic } from './connection-faults.js';
import { httpAbortToxic, httpDelayToxic } from './http-faults.js';
import { latencyToxic } from './latency.js';
import { limitDataToxic } from './limit-data.js';
import { noopToxic } from './noop.js';
import { resetPeerToxic } from './reset-peer.js';
import { slicerToxic } from './slicer.js';
import { slowCloseToxic } from './slow-close.js';
import type { ToxicKind } from './stage.js';
import { timeoutToxic } from './timeout.js';

/** Every toxic type the proxy knows, by its Toxiproxy name. */
export const toxicKinds: ReadonlyMap<string, ToxicKind> = new Map(
  [
    latencyToxic,
    bandwidthToxic,
    slowCloseToxic,
    timeoutToxic,
    resetPeerToxic,
    slicerToxic,
    limitDataToxic,
    noopToxic,
    refuseConnectionToxic,
    delayAcceptToxic,
    httpAbortToxic,
    httpDelayToxic,
  ].map((k): [string, ToxicKind] => [k.type, k]),
);

/** The names of all toxic types, Toxiproxy's first. */
export const toxicTypes: readonly string[] = [...toxicKinds.keys()];
