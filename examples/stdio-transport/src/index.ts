import { existsSync, fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import {
  CommunicationError,
  ErrorCode,
  Transport,
  type FrameConnection,
  type FrameListener,
  type TransportCapabilities,
  type TransportConnectOptions,
  type TransportListenOptions,
} from 'spear-comm';
import type { ConformanceHints } from 'spear-comm/conformance';
import { addressInUseError, invalidOptionError } from 'spear-comm/transport-kit';
import { ChildConnection } from './child-connection.js';
import { startChild, type Child } from './child-process.js';

interface Endpoint {
  maxFrameSize: number;
  accept(connection: ChildConnection): void;
}

/**
 * Frames over the stdin/stdout pipes of child processes (4-byte length prefix, as on tcp).
 *
 * - `stdio:///abs/path/worker.js?arg=a&arg=b`: connect spawns the program (with node for .js,
 *   .mjs and .cjs files) and talks to it over its stdin/stdout. Pass environment variables with
 *   `extra: { env: { ... } }`.
 * - `stdio:`: listen, inside such a program: its own stdin/stdout carry the one connection.
 * - `stdio://NAME`: listen on an endpoint of that name in this process (`stdio://` picks a fresh
 *   one); every connection to it runs through two `cat` processes, one per direction.
 */
@Transport({ name: 'stdio', schemes: ['stdio'] })
export class StdioTransport implements Transport {
  readonly capabilities: TransportCapabilities = { maxFrameSize: 256 * 1024 * 1024, ordered: true, reliable: true, localOnly: true };
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly listeners = new Set<FrameListener>();
  private readonly children = new Set<Child>();
  private anonymous = 0;
  private connections = 0;

  async connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    if (url.host) return this.connectToEndpoint(decodeURIComponent(url.host), options);
    if (url.pathname && url.pathname !== '/') return this.spawnProgram(url, options);
    throw invalidOptionError(
      `Cannot connect to "${url.href}": use stdio:///abs/path/program.js to start a program, or stdio://NAME for an endpoint in this process`,
    );
  }

  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    if (url.href === 'stdio:') return this.listenOnOwnStdio(options);
    if (!url.href.startsWith('stdio://') || (url.pathname !== '' && url.pathname !== '/')) {
      throw invalidOptionError(`Cannot listen on "${url.href}": listen on stdio: (this program's own stdin/stdout) or stdio://NAME`);
    }
    const name = decodeURIComponent(url.host) || `anonymous-${++this.anonymous}`;
    if (this.endpoints.has(name)) {
      throw addressInUseError(`stdio://${name}`, 'it is already listening in this kernel; pick another name or close the first listener');
    }
    return this.listenOnEndpoint(name, options);
  }

  async dispose(): Promise<void> {
    await Promise.all([...this.listeners].map((l) => l.close()));
    for (const child of this.children) child.process.kill('SIGKILL');
    await Promise.all([...this.children].map((c) => c.closed));
  }

  // ---- stdio://NAME: an endpoint in this process, reached through a pair of cat processes ----

  private listenOnEndpoint(name: string, options: TransportListenOptions): FrameListener {
    const connections = new Set<ChildConnection>();
    const endpoint: Endpoint = {
      maxFrameSize: options.maxFrameSize,
      accept: (connection) => {
        connections.add(connection);
        void connection.exited.then(() => connections.delete(connection));
        options.onConnection(connection);
      },
    };
    this.endpoints.set(name, endpoint);
    let closing: Promise<void> | undefined;
    const listener: FrameListener = {
      url: `stdio://${name}`,
      close: () =>
        (closing ??= (async () => {
          if (this.endpoints.get(name) === endpoint) this.endpoints.delete(name);
          this.listeners.delete(listener);
          await Promise.all([...connections].map((c) => c.close()));
        })()),
    };
    this.listeners.add(listener);
    return listener;
  }

  private async connectToEndpoint(name: string, options: TransportConnectOptions): Promise<FrameConnection> {
    if (!this.endpoints.has(name))
      throw new CommunicationError(ErrorCode.ConnectionRefused, `Nothing is listening on stdio://${name} in this kernel`);
    const id = ++this.connections;
    const start = (direction: string) =>
      startChild('cat', [], {
        timeoutMs: options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
        what: `the cat process carrying ${direction} of stdio://${name}`,
        stderr: 'ignore',
      });
    const [up, down] = await Promise.allSettled([start('client-to-server frames'), start('server-to-client frames')]);
    if (up.status === 'rejected' || down.status === 'rejected') {
      for (const r of [up, down]) if (r.status === 'fulfilled') r.value.process.kill('SIGKILL');
      throw (up.status === 'rejected' ? up.reason : (down as PromiseRejectedResult).reason) as Error;
    }
    const endpoint = this.endpoints.get(name);
    if (!endpoint) {
      up.value.process.kill('SIGKILL');
      down.value.process.kill('SIGKILL');
      throw new CommunicationError(ErrorCode.ConnectionRefused, `stdio://${name} stopped listening while connecting`);
    }
    this.track(up.value);
    this.track(down.value);
    const client = new ChildConnection(
      { writable: up.value.process.stdin, readable: down.value.process.stdout },
      { maxFrameSize: options.maxFrameSize, localAddress: `stdio-client-${id}`, remoteAddress: `stdio://${name}` },
      [up.value],
    );
    const server = new ChildConnection(
      { writable: down.value.process.stdin, readable: up.value.process.stdout },
      { maxFrameSize: endpoint.maxFrameSize, localAddress: `stdio://${name}`, remoteAddress: `stdio-client-${id}` },
      [down.value],
    );
    endpoint.accept(server);
    return client;
  }

  // ---- stdio:///path/program: a program of its own, spoken to over its stdin/stdout ----

  private async spawnProgram(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const program = decodeURIComponent(url.pathname);
    if (!existsSync(program))
      throw new CommunicationError(ErrorCode.ConnectionRefused, `No program at ${program} (from ${url.href}); give an absolute path`);
    const args = url.searchParams.getAll('arg');
    const viaNode = /\.[cm]?js$/.test(program);
    const env = options.extra?.env as Record<string, string> | undefined;
    const child = await startChild(viaNode ? process.execPath : program, viaNode ? [program, ...args] : args, {
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(env ? { env: { ...process.env, ...env } } : {}),
      what: program,
    });
    this.track(child);
    return new ChildConnection(
      { writable: child.process.stdin, readable: child.process.stdout },
      {
        maxFrameSize: options.maxFrameSize,
        localAddress: `stdio-parent-${process.pid}`,
        remoteAddress: `${url.href} (pid ${child.process.pid})`,
      },
      [child],
    );
  }

  // ---- stdio: — inside a program started that way, its own stdin/stdout ----

  private listenOnOwnStdio(options: TransportListenOptions): FrameListener {
    for (const fd of [0, 1]) {
      const stat = fstatSync(fd);
      if (!stat.isFIFO() && !stat.isSocket()) {
        throw new CommunicationError(
          ErrorCode.ChannelCreationFailed,
          `stdio: needs fd ${fd} to be a pipe; start this program with connect('stdio:///path/to/it') instead of from a terminal or file`,
        );
      }
    }
    // Own handles on fds 0 and 1, so that closing the connection does not fight process.stdout.
    // Nothing else may write to stdout from now on: console.log would corrupt the frames (log to stderr).
    const readable = new Socket({ fd: 0, readable: true, writable: false });
    const writable = new Socket({ fd: 1, readable: false, writable: true });
    const connection = new ChildConnection(
      { readable, writable },
      { maxFrameSize: options.maxFrameSize, localAddress: `stdio-child-${process.pid}`, remoteAddress: `stdio-parent-${process.ppid}` },
      [],
    );
    queueMicrotask(() => options.onConnection(connection));
    let closing: Promise<void> | undefined;
    return { url: 'stdio:', close: () => (closing ??= connection.close()) };
  }

  private track(child: Child): void {
    this.children.add(child);
    void child.closed.then(() => this.children.delete(child));
  }
}

/** How `spear-comm conformance` reaches this transport: an anonymous endpoint per listener. */
export const conformance: ConformanceHints = { stdio: { address: () => 'stdio://' } };
