/** Placeholder replaced by the retry-storm demo. */
export function runDemo(out: (line: string) => void): void {
  out('demo not built yet');
}
