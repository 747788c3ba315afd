import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect as connectSocket } from 'node:net';

/** The one line that installs nats-server where it is missing (Debian/Ubuntu). */
export const NATS_SERVER_INSTALL = 'apt-get install -y nats-server';

/** Whether `nats-server` is on PATH. */
export function natsServerAvailable(): boolean {
  const probe = spawnSync('nats-server', ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

export interface NatsServerOptions {
  /** Client port (default: a free one). */
  port?: number;
  /** Join a cluster: this server's route port and the routes to the others. */
  cluster?: { name: string; port: number; routes: number[] };
  /** Require this token from clients. */
  token?: string;
  /** Require this user and password from clients. */
  user?: { name: string; pass: string };
  /** Serve TLS with these PEM files. */
  tls?: { certFile: string; keyFile: string };
  /** Further command-line arguments. */
  args?: string[];
}

/** A nats-server child process on loopback. */
export interface NatsServerProcess {
  readonly port: number;
  readonly url: string;
  readonly process: ChildProcess;
  /** Stops it (SIGTERM, SIGKILL after a second) and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills it at once, as a crash would. */
  kill(): Promise<void>;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Starts `nats-server` from PATH on loopback and resolves once it accepts connections. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerProcess> {
  const port = options.port ?? (await freePort());
  const args = ['-a', '127.0.0.1', '-p', String(port)];
  if (options.cluster) {
    args.push('--cluster_name', options.cluster.name, '--cluster', `nats://127.0.0.1:${options.cluster.port}`);
    if (options.cluster.routes.length > 0) args.push('--routes', options.cluster.routes.map((p) => `nats://127.0.0.1:${p}`).join(','));
  }
  if (options.token) args.push('--auth', options.token);
  if (options.user) args.push('--user', options.user.name, '--pass', options.user.pass);
  if (options.tls) args.push('--tls', '--tlscert', options.tls.certFile, '--tlskey', options.tls.keyFile);
  args.push(...(options.args ?? []));
  const child = spawn('nats-server', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (log = (log + chunk).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`nats-server did not start (${err.message}); install it: ${NATS_SERVER_INSTALL}`)));
    void exited.then(() =>
      reject(new Error(`nats-server exited at start (port ${port}): ${log.trim().split('\n').slice(-3).join(' | ')}`)),
    );
  });
  failed.catch(() => {});
  await Promise.race([waitForPort(port, 10_000), failed]);
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const force = setTimeout(() => child.kill('SIGKILL'), 1000);
    await exited;
    clearTimeout(force);
  };
  return {
    port,
    url: `nats://127.0.0.1:${port}`,
    process: child,
    stop: () => stop('SIGTERM'),
    kill: () => stop('SIGKILL'),
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connectSocket(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not accept connections on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
