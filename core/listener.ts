import type { CommunicationChannel } from './channel.js';
import type { CommunicationError } from './errors.js';
import { Emitter } from './events.js';
import type { FrameListener } from './transport.js';

export interface ListenerEvents {
  /** A connection was accepted and its handshake begins. */
  connection: [remoteAddress: string];
  /** A client completed the handshake. */
  channel: [channel: CommunicationChannel];
  /** A connection was turned away: bad handshake, wrong token, auth timeout, connection limit. */
  rejected: [error: CommunicationError, remoteAddress: string];
  /** An error that belongs to no one connection. */
  error: [error: Error];
}

/** What `kernel.listen()` returns: the real bound URL, the live channels, and `close()`. */
export class Listener extends Emitter<ListenerEvents> {
  private readonly live = new Set<CommunicationChannel>();
  private closing: Promise<void> | undefined;
  /** Connections accepted and not yet closed, including those still in the handshake. */
  connectionCount = 0;

  constructor(
    private readonly frames: FrameListener,
    private readonly onClosed: (listener: Listener) => void,
  ) {
    super();
  }

  get url(): string {
    return this.frames.url;
  }

  channels(): CommunicationChannel[] {
    return [...this.live];
  }

  isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** @internal Called by the kernel when a session is established. */
  adopt(channel: CommunicationChannel): void {
    this.live.add(channel);
    channel.on('close', () => this.live.delete(channel));
    this.emit('channel', channel);
  }

  /** @internal */
  report<K extends keyof ListenerEvents>(event: K, ...args: ListenerEvents[K]): void {
    this.emit(event, ...args);
  }

  /** Stops accepting, closes every channel it accepted, and releases the address. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.live].map((channel) => channel.close()));
      await this.frames.close();
      this.onClosed(this);
    })();
    return this.closing;
  }
}
