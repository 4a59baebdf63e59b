/**
 * Grouping accuracy (GA) of the template miner on Loghub's 2k samples (Zhu et al., ICSE-SEIP 2019):
 * mine the `Content` column of `<System>/<System>_2k.log_structured.csv`, and count a line as right
 * only when the set of lines in its predicted group equals the set of lines with its true `EventId`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTemplateMiner, type TemplateMinerOptions } from '@faultline/forensics';

/** The ten systems and Drain's published GA (Zhu et al. 2019, table in ../shared/data/README.md). */
export const DRAIN_GA: Readonly<Record<string, number>> = {
  HDFS: 0.9975,
  Hadoop: 0.9475,
  Spark: 0.92,
  Zookeeper: 0.9665,
  BGL: 0.9625,
  HPC: 0.887,
  Windows: 0.997,
  Android: 0.911,
  Apache: 1.0,
  OpenSSH: 0.7875,
};

export const defaultLoghubDir = fileURLToPath(new URL('../../../shared/data/loghub-2k/', import.meta.url));

/** Parses RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"' && field === '') {
      // quoted field
      i++;
      let start = i;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q === -1) {
          field += text.slice(start);
          i = n;
          break;
        }
        if (text[q + 1] === '"') {
          field += `${text.slice(start, q)}"`;
          i = q + 2;
          start = i;
        } else {
          field += text.slice(start, q);
          i = q + 1;
          break;
        }
      }
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\n' || c === '\r') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
    } else {
      const next = nextSpecial(text, i);
      field += text.slice(i, next);
      i = next;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

function nextSpecial(text: string, from: number): number {
  let i = from;
  while (i < text.length) {
    const c = text[i];
    if (c === ',' || c === '\n' || c === '\r') break;
    i++;
  }
  return i;
}

/** One system's labelled lines. */
export interface LabelledLines {
  readonly contents: readonly string[];
  readonly eventIds: readonly string[];
}

/** Reads `Content` and `EventId` of a structured Loghub CSV. */
export async function readStructured(file: string): Promise<LabelledLines> {
  const rows = parseCsv(await readFile(file, 'utf8'));
  const header = rows[0] ?? [];
  const ci = header.indexOf('Content');
  const ei = header.indexOf('EventId');
  if (ci < 0 || ei < 0) throw new Error(`${file}: no Content or EventId column`);
  const contents: string[] = [];
  const eventIds: string[] = [];
  for (const row of rows.slice(1)) {
    if (row.length < header.length) continue;
    contents.push(row[ci] ?? '');
    eventIds.push(row[ei] ?? '');
  }
  return { contents, eventIds };
}

/**
 * Loghub grouping accuracy: the share of lines whose predicted group holds exactly the same lines
 * as their true group.
 */
export function groupingAccuracy(predicted: readonly string[], truth: readonly string[]): number {
  if (predicted.length !== truth.length) throw new Error('predicted and truth differ in length');
  if (truth.length === 0) return 1;
  const byTruth = new Map<string, number[]>();
  truth.forEach((t, i) => {
    const list = byTruth.get(t);
    if (list === undefined) byTruth.set(t, [i]);
    else list.push(i);
  });
  const predictedSize = new Map<string, number>();
  for (const p of predicted) predictedSize.set(p, (predictedSize.get(p) ?? 0) + 1);
  let right = 0;
  for (const lines of byTruth.values()) {
    // the true group is right when all its lines share one predicted group of the same size
    const p = predicted[lines[0] as number] as string;
    if (predictedSize.get(p) === lines.length && lines.every((i) => predicted[i] === p)) {
      right += lines.length;
    }
  }
  return right / truth.length;
}

/** Mines `contents` with a fresh miner and returns the predicted group id of each line. */
export function mineAll(contents: readonly string[], options: TemplateMinerOptions = {}): string[] {
  const miner = createTemplateMiner(options);
  return contents.map((c) => miner.mine(c).templateId);
}

/** Grouping accuracy per Loghub system and their mean. */
export async function measureTemplateAccuracy(
  dataDir: string = defaultLoghubDir,
  options: TemplateMinerOptions = {},
): Promise<{ perSystem: Record<string, number>; mean: number }> {
  const systems = (await readdir(dataDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const perSystem: Record<string, number> = {};
  for (const system of systems) {
    const { contents, eventIds } = await readStructured(
      join(dataDir, system, `${system}_2k.log_structured.csv`),
    );
    perSystem[system] = groupingAccuracy(mineAll(contents, options), eventIds);
  }
  const values = Object.values(perSystem);
  const mean = values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
  return { perSystem, mean };
}
