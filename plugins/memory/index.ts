import {
  Transport,
  type FrameConnection,
  type FrameListener,
  type TransportCapabilities,
  type TransportConnectOptions,
  type TransportListenOptions,
} from 'spear-comm';
import { addressInUseError, connectAbortedError, refusedError } from 'spear-comm/transport-kit';
import { MemoryConnection } from './memory-connection.js';

interface MemoryEndpoint {
  maxFrameSize: number;
  accept(connection: FrameConnection): void;
  connections: Set<MemoryConnection>;
}

/**
 * In-process frames: `memory://name`. Names are per kernel, so two kernels never meet.
 * `memory://` with no name gets a fresh unique one (like port 0).
 */
@Transport({ name: 'memory', schemes: ['memory'] })
export class MemoryTransport implements Transport {
  readonly capabilities: TransportCapabilities = { maxFrameSize: 256 * 1024 * 1024, ordered: true, reliable: true, localOnly: true };
  private readonly endpoints = new Map<string, MemoryEndpoint>();
  private anonymous = 0;
  private clients = 0;

  async connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const name = nameOf(url);
    if (options.signal?.aborted) throw connectAbortedError(`memory://${name}`, options.signal);
    const endpoint = this.endpoints.get(name);
    if (!endpoint) throw refusedError(`memory://${name}`, 'nothing is listening there in this kernel');
    const client = `memory-client-${++this.clients}`;
    const [mine, theirs] = MemoryConnection.pair(client, `memory://${name}`, options.maxFrameSize, endpoint.maxFrameSize);
    endpoint.connections.add(theirs);
    endpoint.accept(theirs);
    return mine;
  }

  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    const name = nameOf(url) || `anonymous-${++this.anonymous}`;
    if (this.endpoints.has(name)) {
      throw addressInUseError(`memory://${name}`, 'it is already listening in this kernel; pick another name or close the first listener');
    }
    const endpoint: MemoryEndpoint = { maxFrameSize: options.maxFrameSize, accept: options.onConnection, connections: new Set() };
    this.endpoints.set(name, endpoint);
    let closed: Promise<void> | undefined;
    return {
      url: `memory://${name}`,
      close: () =>
        (closed ??= (async () => {
          if (this.endpoints.get(name) === endpoint) this.endpoints.delete(name);
          await Promise.all([...endpoint.connections].map((c) => c.close()));
        })()),
    };
  }

  async dispose(): Promise<void> {
    const endpoints = [...this.endpoints.values()];
    this.endpoints.clear();
    await Promise.all(endpoints.flatMap((e) => [...e.connections].map((c) => c.close())));
  }
}

function nameOf(url: URL): string {
  return decodeURIComponent(url.host + (url.pathname === '/' ? '' : url.pathname));
}
