import { basename } from 'node:path';

const LOG_EXTENSIONS = /(?:\.(?:log|logs|jsonl|ndjson|json|txt|out|err|stdout|stderr))+$/i;

/**
 * The service a log file's name suggests, for a file whose records name none:
 * `api.log.gz` → `api`, `OpenSSH_2k.log` → `OpenSSH_2k`.
 */
export function serviceOfFile(path: string): string {
  const name = basename(path).replace(/\.gz$/i, '');
  return name.replace(LOG_EXTENSIONS, '') || name;
}

/** The report's note for a file whose records were given {@link serviceOfFile}. */
export function fileNamedServiceNote(service: string): string {
  return `no record names a service: the file's name, ${JSON.stringify(service)}, is used as its service`;
}
