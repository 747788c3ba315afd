import { afterAll, describe } from 'vitest';
import {
  NATS_SERVER_INSTALL,
  freePort,
  natsServerAvailable,
  startNatsServer,
  type NatsServerOptions,
  type NatsServerProcess,
} from 'spear-comm/plugins/nats';

/** Whether nats-server is on PATH; tests that need it are skipped (with the install line) when it is not. */
export const HAVE_NATS_SERVER = natsServerAvailable();

/** `describe` that runs only where nats-server is installed, and otherwise shows the one line that installs it. */
export const describeNats: typeof describe = HAVE_NATS_SERVER
  ? describe
  : (((name: string, fn: () => void) =>
      describe.skip(
        `${name} — skipped: nats-server is not on PATH; install it: ${NATS_SERVER_INSTALL}`,
        fn,
      )) as unknown as typeof describe);

/** Servers started by a test file, stopped after it. */
export function natsServers(): {
  start(options?: NatsServerOptions): Promise<NatsServerProcess>;
  cluster(size: number, options?: Omit<NatsServerOptions, 'cluster' | 'port'>): Promise<NatsServerProcess[]>;
} {
  const started: NatsServerProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.splice(0).map((s) => s.stop()));
  });
  const start = async (options: NatsServerOptions = {}) => {
    const server = await startNatsServer(options);
    started.push(server);
    return server;
  };
  return {
    start,
    async cluster(size, options = {}) {
      const routes = await Promise.all(Array.from({ length: size }, () => freePort()));
      const name = `c${routes[0]}`;
      return Promise.all(routes.map((port) => start({ ...options, cluster: { name, port, routes: routes.filter((p) => p !== port) } })));
    },
  };
}
