import { copyFile, mkdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';

export interface CollectResult {
  /** Paths written inside the bundle folder. */
  readonly copied: string[];
  /** Inputs that were missing or not regular files, with the reason. */
  readonly skipped: { readonly path: string; readonly reason: string }[];
}

/**
 * Copies log and span files into the bundle folder, keeping their names (`app.log`, then
 * `app-1.log` on a clash). A missing file is reported, never fatal.
 *
 * @example await collectFiles(['logs/app-1.jsonl', 'spans/otlp.json'], 'run-1');
 */
export async function collectFiles(paths: readonly string[], out: string): Promise<CollectResult> {
  await mkdir(out, { recursive: true });
  const copied: string[] = [];
  const skipped: { path: string; reason: string }[] = [];
  const taken = new Set<string>();
  for (const path of paths) {
    try {
      const info = await stat(path);
      if (!info.isFile()) {
        skipped.push({ path, reason: 'not a regular file' });
        continue;
      }
      const target = await freeName(out, basename(path), taken);
      await copyFile(path, target);
      copied.push(target);
    } catch (error) {
      skipped.push({ path, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  return { copied, skipped };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function freeName(out: string, name: string, taken: Set<string>): Promise<string> {
  const ext = extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 0; ; n++) {
    const candidate = join(out, n === 0 ? name : `${stem}-${n}${ext}`);
    if (!taken.has(candidate) && !(await exists(candidate))) {
      taken.add(candidate);
      return candidate;
    }
  }
}
