import {
  type RetryStormOptions,
  type RetryStormResult,
  type SecondStats,
  simulateRetryStorm,
} from './retry-storm-sim.js';

/** Everything of the scenario except the policy; the defaults are the documented run. */
export type DemoOptions = Omit<RetryStormOptions, 'policy'>;

export interface DemoResult {
  readonly naive: RetryStormResult;
  readonly hardened: RetryStormResult;
}

const WIDTH = 100;
const LABEL = 13;

/**
 * Runs the retry-storm simulation (scenario 3) with naive and with hardened retries and prints a
 * short report, at most 100 columns wide: what `faultline demo` shows.
 * @example await runDemo((line) => process.stdout.write(`${line}\n`));
 */
export async function runDemo(out: (line: string) => void, options: DemoOptions = {}): Promise<DemoResult> {
  const naive = await simulateRetryStorm({ ...options, policy: 'naive' });
  const hardened = await simulateRetryStorm({ ...options, policy: 'hardened' });
  for (const line of report(naive, hardened)) out(line);
  return { naive, hardened };
}

/** The report's lines. */
export function report(naive: RetryStormResult, hardened: RetryStormResult): string[] {
  const o = naive.options;
  const capacity = (o.workers * 1000) / o.serviceMs;
  const lines: string[] = [];
  lines.push(`faultline demo: retry storm (scenario 3), ${o.durationS} s of simulated time, seed ${o.seed}`);
  lines.push('');
  const trigger =
    o.trigger === null
      ? 'nothing goes wrong (no trigger).'
      : `from ${o.trigger.startS} s to ${o.trigger.startS + o.trigger.durationS} s it keeps only ` +
        `${pct(o.trigger.capacityShare)} of its capacity, then gets it all back.`;
  lines.push(
    ...wrapText(
      `Clients send ${o.ratePerS} requests/s (deadline ${o.clientDeadlineMs} ms, ${o.attemptTimeoutMs} ms ` +
        `per attempt, up to ${o.maxRetries} retries) to a server that can serve ${fmt(capacity)}/s; ${trigger} ` +
        'Both clients run the real retry, timeout and RetryBudget policies on a fake clock: "naive" ' +
        `retries at once, "hardened" backs off with jitter within a ${pct(o.budgetRatio)} retry budget.`,
    ),
  );
  lines.push('');

  const axis = [...' '.repeat(naive.seconds.length)];
  for (let s = 0; s < axis.length; s += 10) {
    const label = `${s}`;
    if (s + label.length <= axis.length) axis.splice(s, label.length, ...label);
  }
  lines.push("One column per second; levels: '#' >= 90 %, '=' >= 50 %, '-' >= 10 %, '.' > 0, ' ' none.");
  lines.push(row('second', axis.join('')));
  lines.push(row('capacity', spark(naive.seconds.map((s) => s.workers / o.workers))));
  lines.push('goodput: share of requests answered within the deadline');
  lines.push(row('  naive', spark(naive.seconds.map(goodShare))));
  lines.push(row('  hardened', spark(hardened.seconds.map(goodShare))));
  lines.push('attempts per request (1 = no retries)');
  lines.push(row('  naive', digits(naive.seconds)));
  lines.push(row('  hardened', digits(hardened.seconds)));
  lines.push('wasted work: share of the requests the server finished after their client gave up');
  lines.push(row('  naive', spark(naive.seconds.map(wastedShare))));
  lines.push(row('  hardened', spark(hardened.seconds.map(wastedShare))));
  lines.push('');

  const n = naive.summary;
  const h = hardened.summary;
  const from = o.trigger === null ? '' : ` (from ${o.trigger.startS} s)`;
  const table: [string, string, string][] = [
    ['', 'naive', 'hardened'],
    ['availability before the trigger', pct(n.availability.before, 1), pct(h.availability.before, 1)],
    ['availability during the trigger', pct(n.availability.during, 1), pct(h.availability.during, 1)],
    ['availability after the trigger', pct(n.availability.after, 1), pct(h.availability.after, 1)],
    [`attempts per request${from}`, n.amplification.toFixed(2), h.amplification.toFixed(2)],
    [`server work wasted${from}`, pct(n.wastedShare, 1), pct(h.wastedShare, 1)],
    ['recovered after the trigger ended', recovery(naive), recovery(hardened)],
  ];
  for (const [what, a, b] of table) lines.push(`${what.padEnd(36)}${a.padStart(10)}${b.padStart(18)}`);
  lines.push('');
  const cap = 1 + o.budgetRatio + o.budgetMinRetriesPerSecond / o.ratePerS;
  const headroom = fmt(capacity / o.ratePerS);
  // claim the budget made the difference only when the run shows it
  lines.push(
    h.recovered && !n.recovered
      ? `Why: the budget kept attempts at ${h.amplification.toFixed(2)}x demand (cap ${cap.toFixed(2)}x), ` +
          `under the ${headroom}x capacity; naive: ${n.amplification.toFixed(1)}x.`
      : `Attempts per request: naive ${n.amplification.toFixed(2)}x, hardened ${h.amplification.toFixed(2)}x, ` +
          `against a ${headroom}x capacity.`,
  );
  return lines;
}

function goodShare(s: SecondStats): number {
  return s.offered === 0 ? 1 : s.good / s.offered;
}

function wastedShare(s: SecondStats): number {
  const done = s.served + s.wasted;
  return done === 0 ? 0 : s.wasted / done;
}

/** One character per second: a coarse ASCII level. */
function spark(values: readonly number[]): string {
  return values.map((v) => (v >= 0.9 ? '#' : v >= 0.5 ? '=' : v >= 0.1 ? '-' : v > 0 ? '.' : ' ')).join('');
}

function digits(seconds: readonly SecondStats[]): string {
  return seconds
    .map((s) => (s.offered === 0 ? ' ' : String(Math.min(9, Math.round(s.attempts / s.offered)))))
    .join('');
}

function row(label: string, cells: string): string {
  return `${label.padEnd(LABEL)}${cells}`.trimEnd();
}

function recovery(r: RetryStormResult): string {
  const s = r.summary;
  return s.recovered ? `yes, in ${s.recoverySeconds} s` : 'no';
}

function pct(share: number, decimals = 0): string {
  return `${(share * 100).toFixed(decimals)} %`;
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

function wrapText(text: string, width = WIDTH - 2): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === '' ? word : `${line} ${word}`;
    }
  }
  if (line !== '') lines.push(line);
  return lines;
}
