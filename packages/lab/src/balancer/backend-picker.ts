import type { BalancingAlgorithm } from './balancer-options.js';

/**
 * Chooses the backend for the next request among the routable ones.
 *
 * Smooth weighted round-robin (nginx's algorithm): deterministic, spreads picks evenly and gives
 * each backend a share exactly proportional to its weight, so a slow-start weight of 0.1 means
 * 10 % of a full share, not "only when the others are busy". `least-request` divides each weight
 * by (outstanding requests + 1) before the same rotation, as Envoy's weighted least-request does:
 * equal to round-robin when idle, steering away from a backend that answers slowly under load.
 */
export class BackendPicker {
  private readonly current: Float64Array;
  private lastCandidates: readonly number[] | undefined;

  constructor(
    size: number,
    private readonly algorithm: BalancingAlgorithm,
  ) {
    this.current = new Float64Array(size);
  }

  /**
   * @param candidates indexes of the routable backends (the same array until membership changes)
   * @param weight slow-start factor of a backend
   * @param outstanding requests in flight per backend
   * @returns the chosen index, or undefined when there is no candidate
   */
  pick(
    candidates: readonly number[],
    weight: (index: number) => number,
    outstanding: ArrayLike<number>,
  ): number | undefined {
    if (candidates !== this.lastCandidates) {
      // membership changed: forget stale credit so a returning backend does not get a burst
      this.current.fill(0);
      this.lastCandidates = candidates;
    }
    let best = -1;
    let bestCurrent = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (const i of candidates) {
      let w = weight(i);
      if (this.algorithm === 'least-request') w /= (outstanding[i] ?? 0) + 1;
      const c = (this.current[i] ?? 0) + w;
      this.current[i] = c;
      total += w;
      if (c > bestCurrent) {
        best = i;
        bestCurrent = c;
      }
    }
    if (best < 0) return undefined;
    this.current[best] = bestCurrent - total;
    return best;
  }
}
