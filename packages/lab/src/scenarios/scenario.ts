/** Which app a process fault targets: one instance, or every app. */
export type AppTarget = `app-${number}` | 'all-apps';

/** Something the scenario does at a point of its timeline. Each one is written as ground truth. */
export type Action =
  | { readonly kind: 'leak'; readonly target: AppTarget; readonly mbPerS: number }
  | { readonly kind: 'cpu'; readonly target: AppTarget; readonly percent: number }
  | { readonly kind: 'block'; readonly target: AppTarget; readonly ms: number }
  | { readonly kind: 'cache-flush'; readonly target: AppTarget }
  | { readonly kind: 'clear-process-faults'; readonly target: AppTarget }
  | {
      readonly kind: 'batch-job';
      readonly target: AppTarget;
      readonly durationS: number;
      readonly concurrency: number;
    }
  | {
      readonly kind: 'toxic';
      readonly proxy: 'db' | 'external';
      readonly name: string;
      readonly type: string;
      readonly stream?: 'upstream' | 'downstream';
      readonly toxicity?: number;
      readonly attributes: Readonly<Record<string, number | string>>;
    }
  | { readonly kind: 'remove-toxic'; readonly proxy: 'db' | 'external'; readonly name: string }
  | { readonly kind: 'proxy-down'; readonly proxy: 'db' | 'external' }
  | { readonly kind: 'proxy-up'; readonly proxy: 'db' | 'external' }
  | { readonly kind: 'db-lock'; readonly table: string; readonly durationS: number }
  | { readonly kind: 'rate'; readonly rps: number };

export interface Step {
  /** seconds after the load starts */
  readonly atS: number;
  readonly action: Action;
  /** a short phrase for the progress display and the events */
  readonly note: string;
}

/** A failure scenario of ../shared/SCENARIOS.md as a timeline. */
export interface Scenario {
  readonly name: string;
  /** its row in SCENARIOS.md */
  readonly catalogue: number;
  readonly title: string;
  /** what happens, what the baseline shows and what bounds it in hardened mode */
  readonly description: string;
  /** default run length, seconds */
  readonly durationS: number;
  /** default offered load, logical requests per second */
  readonly rps: number;
  /** when the trigger is over; recovery is measured from here */
  readonly triggerEndS: number;
  /** the database must be a real PostgreSQL server (lock waits, concurrent sessions) */
  readonly needsRealPostgres?: boolean;
  readonly steps: readonly Step[];
}
