import { type ProxyServer, startProxyServer } from '@faultline/chaos';
import { type Command, InvalidArgumentError } from 'commander';
import type { CliIo } from '../cli.js';

interface ProxyCommandOptions {
  readonly host: string;
  readonly port: number;
  readonly config?: string;
  readonly events?: string;
  readonly logConnections?: boolean;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^[0-9]+$/.test(value) || port > 65535)
    throw new InvalidArgumentError('must be a port number (0-65535)');
  return port;
}

/** Resolves on the first SIGINT or SIGTERM. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Adds `faultline proxy`: starts the Toxiproxy-compatible fault proxy, prints the admin URL, and
 * runs until SIGINT/SIGTERM (or until `waitForStop` resolves, for tests), then closes every socket.
 * @example registerProxyCommand(program, io);
 */
export function registerProxyCommand(
  program: Command,
  io: CliIo,
  waitForStop: (server: ProxyServer) => Promise<unknown> = untilSignal,
): Command {
  return program
    .command('proxy')
    .description('run a Toxiproxy-compatible fault proxy (REST API, toxics, start-up config)')
    .option('--host <host>', 'admin API host', '127.0.0.1')
    .option('--port <port>', 'admin API port (0 picks a free one)', parsePort, 8474)
    .option(
      '--config <file>',
      'JSON file of proxies to create at start (the /populate shape, toxics allowed)',
    )
    .option('--events <file>', 'append every change as a JSON event line to this file')
    .option('--log-connections', 'write one JSON line per accepted connection to stderr')
    .action(async (options: ProxyCommandOptions) => {
      const server = await startProxyServer({
        host: options.host,
        port: options.port,
        ...(options.config === undefined ? {} : { config: options.config }),
        ...(options.events === undefined ? {} : { eventsFile: options.events }),
        ...(options.logConnections === true ? { logger: (line: string) => io.err(`${line}\n`) } : {}),
      });
      try {
        // listen for signals before saying we are up: whoever reads the line may signal at once
        const stopped = waitForStop(server);
        const count = server.proxies.list().length;
        io.out(
          `faultline proxy: admin API on ${server.url} (${count} ${count === 1 ? 'proxy' : 'proxies'})\n`,
        );
        await stopped;
      } finally {
        await server.close();
      }
    });
}
