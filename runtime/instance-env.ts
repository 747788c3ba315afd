import {
  BUILTIN_PLUGINS,
  CommunicationError,
  ErrorCode,
  RUNTIME_TYPES,
  createKernel,
  type Handlers,
  type Kernel,
  type KernelOptions,
  type RuntimeInstanceId,
  type RuntimeType,
} from 'spear-comm';
import type { HeartbeatOptions } from './resilience/heartbeat.js';
import { ReconnectingChannel } from './resilience/reconnect.js';
import type { ReconnectPolicy } from './resilience/reconnect-policy.js';

/** The environment variables a host gives an instance it starts. */
export const SPEAR_ENV = {
  /** Transport name: `unix`, `tcp`, `grpc`, `memory`, ... */
  communicationType: 'SPEAR_COMMUNICATION_TYPE',
  /** The full URL to connect to, e.g. `unix:///tmp/spear-x/worker-1-0123456789abcdef.sock`. */
  address: 'SPEAR_COMMUNICATION_ADDRESS',
  /** The port, for network transports (empty otherwise). */
  port: 'SPEAR_COMMUNICATION_PORT',
  instanceId: 'SPEAR_INSTANCE_ID',
  /** The token to present in the AuthRequest: fresh and random per instance. */
  secret: 'SPEAR_SECRET',
  codec: 'SPEAR_CODEC',
  /** `process`, `kubernetes` or `wasm` (sent as the AuthRequest's clientType; default `process`). */
  runtimeType: 'SPEAR_RUNTIME_TYPE',
  /** For nats: more servers of the NATS cluster besides the address's, comma-separated. */
  natsServers: 'SPEAR_NATS_SERVERS',
} as const;

/** What an instance needs to know to reach its host. */
export interface InstanceSettings {
  transport: string;
  /** The URL to connect to. */
  address: string;
  port?: number;
  /** For nats: more NATS servers to try besides the address's. */
  servers?: string[];
  instanceId: RuntimeInstanceId;
  secret: string;
  codec: string;
}

/** The `SPEAR_*` variables for `settings`. */
export function instanceEnvironment(settings: InstanceSettings): Record<string, string> {
  return {
    [SPEAR_ENV.communicationType]: settings.transport,
    [SPEAR_ENV.address]: settings.address,
    [SPEAR_ENV.port]: settings.port === undefined ? '' : String(settings.port),
    [SPEAR_ENV.instanceId]: settings.instanceId.instanceId,
    [SPEAR_ENV.secret]: settings.secret,
    [SPEAR_ENV.codec]: settings.codec,
    [SPEAR_ENV.runtimeType]: settings.instanceId.runtimeType,
    ...(settings.servers && settings.servers.length > 0 ? { [SPEAR_ENV.natsServers]: settings.servers.join(',') } : {}),
  };
}

/** Environment variables, as in `process.env`. */
export type Env = Record<string, string | undefined>;

/**
 * Reads the `SPEAR_*` variables. The address is `SPEAR_COMMUNICATION_ADDRESS`, or, for a host that
 * only sets a type and a port, `<type>://127.0.0.1:<port>`. Throws `ChannelCreationFailed` naming
 * every variable that is missing or wrong.
 */
export function readInstanceEnv(env: Env = process.env): InstanceSettings {
  const problems: string[] = [];
  const value = (name: string) => (env[name] ?? '').trim();
  const instanceId = env[SPEAR_ENV.instanceId] ?? '';
  const secret = env[SPEAR_ENV.secret] ?? '';
  if (instanceId === '') problems.push(`${SPEAR_ENV.instanceId} is not set`);
  if (secret === '') problems.push(`${SPEAR_ENV.secret} is not set`);
  const runtimeType = (value(SPEAR_ENV.runtimeType) || 'process') as RuntimeType;
  if (!RUNTIME_TYPES.includes(runtimeType))
    problems.push(`${SPEAR_ENV.runtimeType} is "${runtimeType}"; expected one of ${RUNTIME_TYPES.join(', ')}`);
  const portText = value(SPEAR_ENV.port);
  const port = portText === '' ? undefined : Number(portText);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    problems.push(`${SPEAR_ENV.port} is "${portText}", not a port number`);
  const servers = value(SPEAR_ENV.natsServers)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  let address = value(SPEAR_ENV.address);
  let transport = value(SPEAR_ENV.communicationType);
  if (address === '') {
    if (transport !== '' && port !== undefined) address = `${transport}://127.0.0.1:${port}`;
    else problems.push(`${SPEAR_ENV.address} is not set (nor ${SPEAR_ENV.communicationType} and ${SPEAR_ENV.port})`);
  } else if (transport === '') {
    transport = address.split(':', 1)[0] ?? '';
  }
  if (problems.length > 0) {
    throw new CommunicationError(
      ErrorCode.ChannelCreationFailed,
      `This process was not started as a spear-comm instance: ${problems.join('; ')}`,
    );
  }
  return {
    transport,
    address,
    ...(port !== undefined ? { port } : {}),
    ...(servers.length > 0 ? { servers } : {}),
    instanceId: { runtimeType, instanceId },
    secret,
    codec: value(SPEAR_ENV.codec) || 'json',
  };
}

export interface ConnectFromEnvOptions {
  /** Where to read the `SPEAR_*` variables (default `process.env`). */
  env?: Env;
  /** Kernel to connect with (default: a new one, closed when the channel closes for good). */
  kernel?: Kernel;
  /** What to do when the connection to the host is lost (default: nothing; the channel closes). */
  reconnect?: ReconnectPolicy;
  /** Probe the host; a silent host counts as a lost connection. */
  heartbeat?: HeartbeatOptions | false;
  /** Serve these functions to the host. */
  handlers?: Handlers;
  /** Give up the first connection after this long (default 10 s). */
  timeoutMs?: number;
  /** Leave `SPEAR_SECRET` in `process.env` (default: removed once read, so child processes do not inherit it). */
  keepSecretInEnv?: boolean;
}

/**
 * The instance side of a start: reads the `SPEAR_*` environment the host set, connects to the
 * host's per-instance address, authenticates with the instance's secret, and returns the channel
 * (pass `handlers`, or call `serve(channel, handlers)`, to answer the host's invocations).
 *
 * @example
 * ```ts
 * // worker.js, started by ProcessRuntime.spawn() (or any host that set SPEAR_COMMUNICATION_TYPE,
 * // SPEAR_ADDRESS, SPEAR_PORT, SPEAR_INSTANCE_ID, SPEAR_SECRET, SPEAR_CODEC)
 * import { connectFromEnv } from 'spear-comm/runtime';
 *
 * const channel = await connectFromEnv({
 *   handlers: { upper: (input) => Buffer.from(Buffer.from(input).toString().toUpperCase()) },
 * });
 * channel.on('close', () => process.exit(0));
 * ```
 */
export async function connectFromEnv(options: ConnectFromEnvOptions = {}): Promise<ReconnectingChannel> {
  const env = options.env ?? process.env;
  const settings = readInstanceEnv(env);
  if (env === process.env && !options.keepSecretInEnv) delete process.env[SPEAR_ENV.secret];
  const ownKernel = options.kernel === undefined;
  const kernel = options.kernel ?? (await createKernel(pluginsFor(settings)));
  try {
    const channel = await ReconnectingChannel.connect(kernel, settings.address, {
      instanceId: settings.instanceId,
      token: settings.secret,
      codec: settings.codec,
      reconnect: options.reconnect ?? { kind: 'none' },
      heartbeat: options.heartbeat ?? false,
      ...(settings.servers ? { extra: { servers: settings.servers } } : {}),
      ...(options.handlers ? { handlers: options.handlers } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    if (ownKernel) channel.on('close', () => void kernel.close());
    return channel;
  } catch (err) {
    if (ownKernel) await kernel.close();
    throw err;
  }
}

/**
 * An instance needs one transport and one codec: loading only those (when they are built-ins)
 * saves a spawned instance the half second that importing every plugin costs. Anything else
 * loads everything, as `createKernel()` does.
 */
function pluginsFor(settings: InstanceSettings): KernelOptions {
  const transport = BUILTIN_PLUGINS.find((module) => module === `spear-comm/plugins/${settings.transport}`);
  const codec = BUILTIN_PLUGINS.find((module) => module === `spear-comm/codecs/${settings.codec}`);
  return transport && codec ? { builtins: false, plugins: [transport, codec] } : {};
}
