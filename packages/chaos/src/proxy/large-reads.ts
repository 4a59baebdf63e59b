import { connect, type NetConnectOpts, Socket } from 'node:net';

/**
 * Sockets that read up to 256 KiB at a time instead of Node's 64 KiB: a proxy's cost is per read
 * (one JS callback, one write), so bigger reads are most of the difference between ~40 % and
 * ~60 % of a direct loopback transfer. Small reads are copied out so that the big buffer is
 * reused; large ones are handed on as they are and a fresh buffer takes their place.
 */
const READ_SIZE = 256 * 1024;
const COPY_BELOW = 16 * 1024;

type HandleHolder = { _handle?: unknown };

class ReadBuffer {
  private current = Buffer.allocUnsafe(READ_SIZE);
  readonly next = (): Buffer => this.current;
  take(n: number): Buffer {
    if (n <= COPY_BELOW) return Buffer.from(this.current.subarray(0, n));
    const out = this.current.subarray(0, n);
    this.current = Buffer.allocUnsafe(READ_SIZE);
    return out;
  }
}

function onread(target: () => Socket): NonNullable<NetConnectOpts['onread']> {
  const buffers = new ReadBuffer();
  return {
    buffer: buffers.next,
    callback: (n: number) => {
      target().emit('data', buffers.take(n));
      return true;
    },
  };
}

/** Connects with large reads; the socket emits `data` as usual. */
export function connectWithLargeReads(options: NetConnectOpts): Socket {
  let socket: Socket | undefined;
  socket = connect({ ...options, onread: onread(() => socket as Socket) });
  return socket;
}

/**
 * Takes over an accepted socket (accepted paused, `pauseOnConnect`) as one with large reads. Falls
 * back to the socket itself when its handle cannot be adopted.
 */
export function adoptWithLargeReads(accepted: Socket, allowHalfOpen: boolean): Socket {
  const holder = accepted as unknown as HandleHolder;
  const handle = holder._handle;
  if (handle === null || handle === undefined) {
    accepted.resume();
    return accepted;
  }
  holder._handle = null;
  let socket: Socket | undefined;
  socket = new Socket({
    handle,
    allowHalfOpen,
    onread: onread(() => socket as Socket),
  } as ConstructorParameters<typeof Socket>[0]);
  // the husk no longer owns the connection: destroying it only settles the server's count
  accepted.destroy();
  return socket;
}
