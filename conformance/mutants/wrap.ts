import type { ConformanceHints } from '../types.js';
import type {
  FrameConnection,
  FrameListener,
  FrameSink,
  Transport,
  TransportCapabilities,
  TransportConnectOptions,
  TransportListenOptions,
} from 'spear-comm';
import { MemoryTransport } from 'spear-comm/plugins/memory';

/** A connection that forwards everything to a working one; each mutant overrides the part it breaks. */
export class ForwardingConnection implements FrameConnection {
  constructor(protected readonly inner: FrameConnection) {}

  get remoteAddress(): string {
    return this.inner.remoteAddress;
  }

  get localAddress(): string {
    return this.inner.localAddress;
  }

  start(sink: FrameSink): void {
    this.inner.start(this.wrapSink(sink));
  }

  protected wrapSink(sink: FrameSink): FrameSink {
    return sink;
  }

  send(frame: Uint8Array): Promise<void> {
    return this.inner.send(frame);
  }

  /** Forwarded, as every wrapper must: without it the listener loses the 64 KiB limit for peers that have not authenticated. */
  setMaxFrameSize(maxFrameSize: number, reason?: string): void {
    this.inner.setMaxFrameSize?.(maxFrameSize, reason);
  }

  pause(): void {
    this.inner.pause();
  }

  resume(): void {
    this.inner.resume();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

export interface ListenerState {
  /** Every server-side connection of this listener, as handed to the kernel. */
  readonly connections: FrameConnection[];
  readonly inner: FrameListener;
}

/**
 * The memory transport behind a scheme of the mutant's own, with hooks to break it. A mutant is
 * correct except for its one bug, so the kit has to find that bug to fail it.
 */
export abstract class MutantTransport implements Transport {
  protected readonly inner = new MemoryTransport();
  protected abstract readonly scheme: string;

  get capabilities(): TransportCapabilities {
    return this.inner.capabilities;
  }

  connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    return this.innerConnect(url, options).then((c) => this.wrapClient(c));
  }

  protected innerConnect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    return this.inner.connect(url, options);
  }

  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    const connections: FrameConnection[] = [];
    let state: ListenerState | undefined;
    const early: FrameConnection[] = [];
    const inner = await this.inner.listen(url, {
      ...this.listenOptions(options),
      onConnection: (connection) => {
        if (!state) return early.push(connection);
        const wrapped = this.wrapServer(connection, state);
        connections.push(wrapped);
        options.onConnection(wrapped);
      },
    });
    state = { connections, inner };
    for (const connection of early) {
      const wrapped = this.wrapServer(connection, state);
      connections.push(wrapped);
      options.onConnection(wrapped);
    }
    return { url: inner.url.replace(/^memory:/, `${this.scheme}:`), close: () => inner.close() };
  }

  protected listenOptions(options: TransportListenOptions): TransportListenOptions {
    return options;
  }

  protected wrapClient(connection: FrameConnection): FrameConnection {
    return connection;
  }

  protected wrapServer(connection: FrameConnection, _state: ListenerState): FrameConnection {
    return connection;
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}

/** The same wrapper for both ends. */
export abstract class SymmetricMutant extends MutantTransport {
  protected abstract wrap(connection: FrameConnection): FrameConnection;

  protected override wrapClient(connection: FrameConnection): FrameConnection {
    return this.wrap(connection);
  }

  protected override wrapServer(connection: FrameConnection): FrameConnection {
    return this.wrap(connection);
  }
}

/** What `spear-comm conformance <mutant module>` needs to know: listen on an anonymous name of the mutant's scheme. */
export function mutantHints(name: string): ConformanceHints {
  return { [name]: { address: () => `${name}://` } };
}
