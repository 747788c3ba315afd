import type { CommunicationChannel } from './channel.js';
import { CommunicationError, ErrorCode, toCommunicationError } from './errors.js';
import { Emitter } from './events.js';
import type { Logger } from './logger.js';
import { serve, type Handlers, type ServeOptions } from './serve.js';
import { acceptSession, type ServerSessionOptions } from './session.js';
import type { FrameConnection, FrameListener } from './transport.js';

/**
 * Connections a listener holds at once unless `maxConnections` says otherwise: below the usual
 * soft limit of 1024 open files, and before authentication each costs at most ~1.1 MiB
 * (docs/reliability.md), so a flood of silent peers stays under ~600 MiB.
 */
export const DEFAULT_MAX_CONNECTIONS = 512;

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

/** @internal What the kernel gives a listener: how to run a session and what to do with a channel. */
export interface AcceptOptions extends ServerSessionOptions, ServeOptions {
  maxConnections?: number;
  handlers?: Handlers;
  onChannel?: (channel: CommunicationChannel) => void;
  logger: Logger;
}

/**
 * What `kernel.listen()` returns: the real bound URL, the live channels, and `close()`. It owns
 * accepting connections: the connection limit, the count, the handshake and serving.
 */
export class Listener extends Emitter<ListenerEvents> {
  private readonly live = new Set<CommunicationChannel>();
  private closing: Promise<void> | undefined;
  private frames: FrameListener | undefined;
  /** Connections that arrived before the transport's listen() returned; accepted on bind. */
  private early: FrameConnection[] | undefined = [];
  private count = 0;
  /** The most connections held at once; beyond it new ones are closed and reported as `rejected`. */
  readonly maxConnections: number;

  constructor(
    private readonly options: AcceptOptions,
    private readonly onClosed: (listener: Listener) => void,
  ) {
    super();
    this.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    const detail = `maxConnections must be at least 1 (or Infinity for no limit), got ${String(options.maxConnections)}`;
    if (!(this.maxConnections >= 1)) throw new CommunicationError(ErrorCode.InvalidArgument, detail);
  }

  get url(): string {
    return this.frames?.url ?? '';
  }

  /** Connections accepted and not yet closed, including those still in the handshake. */
  get connectionCount(): number {
    return this.count;
  }

  channels(): CommunicationChannel[] {
    return [...this.live];
  }

  isClosed(): boolean {
    return this.closing !== undefined;
  }

  /** @internal The transport's listener, once it is bound. */
  bind(frames: FrameListener): void {
    this.frames = frames;
    const early = this.early ?? [];
    this.early = undefined;
    for (const connection of early) this.accept(connection);
  }

  /** @internal Takes a connection from the transport: counts it, runs the handshake, serves the channel. */
  accept(connection: FrameConnection): void {
    if (this.early) {
      this.early.push(connection);
      return;
    }
    if (this.isClosed()) {
      connection.close().catch(() => {});
      return;
    }
    const maxConnections = this.maxConnections;
    if (this.count >= maxConnections) {
      const error = new CommunicationError(ErrorCode.ConnectionRefused, `Connection limit of ${maxConnections} reached on ${this.url}`);
      connection.close(error).catch(() => {});
      this.emit('rejected', error, connection.remoteAddress);
      return;
    }
    this.count++;
    const release = () => this.count--;
    this.emit('connection', connection.remoteAddress);
    acceptSession(connection, this.options).then(
      (channel) => {
        // Frames held during the handshake are delivered on attach, so a hostile or vanished
        // peer can close the channel before this runs: its 'close' has fired already.
        if (!channel.isConnected()) return release();
        channel.on('close', release);
        if (this.isClosed()) return void channel.close();
        if (this.options.handlers) serve(channel, this.options.handlers, this.options);
        this.live.add(channel);
        channel.on('close', () => this.live.delete(channel));
        this.emit('channel', channel);
        try {
          this.options.onChannel?.(channel);
        } catch (err) {
          this.emit('error', toCommunicationError(err, ErrorCode.ChannelCreationFailed, 'onChannel threw'));
        }
      },
      (error: CommunicationError) => {
        release();
        this.options.logger.debug('session refused', { url: this.url, remote: connection.remoteAddress, code: error.code });
        this.emit('rejected', error, connection.remoteAddress);
      },
    );
  }

  /** @internal */
  report<K extends keyof ListenerEvents>(event: K, ...args: ListenerEvents[K]): void {
    this.emit(event, ...args);
  }

  /** Stops accepting, closes every channel it accepted, and releases the address. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all([...this.live].map((channel) => channel.close()));
      await this.frames?.close();
      this.onClosed(this);
    })();
    return this.closing;
  }
}
