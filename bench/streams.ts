import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKernel, invoke, invokeStream, serve, type CommunicationChannel, type Kernel } from 'spear-comm';
import { STREAM_HANDLERS, type StreamServerSpec } from './stream-server.js';

export const STREAM_USAGE = `Usage: spear-comm bench streams [options]

Stream throughput: MB/s for --size bytes (default 64MiB) streamed into a counting handler through
every transport × codec (server in its own process; memory in-process), next to a raw socket
(tcp, unix) moving the same bytes in the same run.

  --transports a,b  (default memory,tcp,unix,websocket,grpc)   --codecs a,b (default json,cbor,protobuf)
  --size N          MiB to stream (default 64)                 --rounds N   best of N (default 3)
  --check           Instead: per transport, 256 MiB into sha256 and 32 MiB echoed (bytes checked),
                    process growth, ping latency during the stream, early stop — the figures of
                    issue #17
  --pin             Pin the server to CPU 0 and this process to CPU 1 (taskset)
  --out file.json   Also write the results as JSON
`;

const MiB = 1024 * 1024;
/** nats needs a running server: SPEAR_NATS_URL (default nats://127.0.0.1:4222), subject bench-streams. */
const natsUrl = `${process.env['SPEAR_NATS_URL'] ?? 'nats://127.0.0.1:4222'}/bench-streams-${process.pid}`;
const SERVER_SCRIPT = fileURLToPath(new URL('./stream-server.js', import.meta.url));
const PIECES = Array.from({ length: 16 }, () => new Uint8Array(randomBytes(MiB)));

async function* source(total: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i * MiB < total; i++) yield PIECES[i % PIECES.length]!.subarray(0, Math.min(MiB, total - i * MiB));
}

function expectedSha(total: number): string {
  const hash = createHash('sha256');
  for (let i = 0; i * MiB < total; i++) hash.update(PIECES[i % PIECES.length]!.subarray(0, Math.min(MiB, total - i * MiB)));
  return hash.digest('hex');
}

interface Server {
  urls: Record<string, string>;
  raw: Record<string, { host: string; port: number } | { path: string }>;
  rss(): Promise<number>;
  stop(): void;
}

async function startServer(transports: string[], pin: boolean): Promise<Server> {
  const dir = join(tmpdir(), `spear-sb-${process.pid}`);
  const spec: StreamServerSpec = {
    urls: Object.fromEntries(
      transports
        .filter((t) => t !== 'memory')
        .map((t) => [
          t,
          t === 'unix' ? `unix://${dir}.sock` : t === 'websocket' ? 'ws://127.0.0.1:0/s' : t === 'nats' ? natsUrl : `${t}://127.0.0.1:0`,
        ]),
    ),
    raw: { tcp: { host: '127.0.0.1', port: 0 }, unix: { path: `${dir}.raw.sock` } },
  };
  const command = [process.execPath, SERVER_SCRIPT, JSON.stringify(spec)];
  const child = spawn(pin ? 'taskset' : command[0]!, pin ? ['-c', '0', ...command] : command.slice(1), {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting: Array<(line: string) => void> = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line));
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const ready = JSON.parse(await next()) as Pick<Server, 'urls' | 'raw'>;
  return {
    ...ready,
    rss: async () => {
      const line = next();
      child.stdin.write('rss\n');
      return (JSON.parse(await line) as { rss: number }).rss;
    },
    stop: () => child.stdin.end(),
  };
}

async function connect(kernel: Kernel, server: Server, transport: string, codec: string): Promise<CommunicationChannel> {
  if (transport !== 'memory') return kernel.connect(server.urls[transport]!, { codec });
  const listener = await kernel.listen(`memory://bench-${codec}`, { onChannel: (channel) => serve(channel, STREAM_HANDLERS) });
  const channel = await kernel.connect(listener.url, { codec });
  channel.on('close', () => void listener.close());
  return channel;
}

async function timeStream(channel: CommunicationChannel, total: number): Promise<number> {
  const started = performance.now();
  let answer = '';
  for await (const chunk of invokeStream(channel, 'sink', source(total))) answer += new TextDecoder().decode(chunk);
  const seconds = (performance.now() - started) / 1000;
  if (answer !== String(total)) throw new Error(`the sink counted ${answer} bytes, not ${total}`);
  return total / seconds / 1e6;
}

async function timeRaw(where: { host: string; port: number } | { path: string }, total: number): Promise<number> {
  const socket = net.connect(where as net.NetConnectOpts);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.setNoDelay(true);
  const started = performance.now();
  const done = new Promise((resolve) => socket.once('data', resolve));
  const head = Buffer.alloc(8);
  head.writeBigUInt64BE(BigInt(total));
  socket.write(head);
  for await (const piece of source(total)) if (!socket.write(piece)) await new Promise((resolve) => socket.once('drain', resolve));
  await done;
  const seconds = (performance.now() - started) / 1000;
  socket.destroy();
  return total / seconds / 1e6;
}

interface CheckResult {
  transport: string;
  sha256Ok: boolean;
  echoOk: boolean;
  seconds256: number;
  clientGrowthMiB: number;
  serverGrowthMiB: number;
  pings: number;
  maxPingMs: number;
  earlyStopUsable: boolean;
}

async function check(kernel: Kernel, server: Server, transport: string): Promise<CheckResult> {
  const channel = await connect(kernel, server, transport, 'cbor');
  const serverRss = transport === 'memory' ? async () => 0 : server.rss;
  await timeStream(channel, 16 * MiB); // warm up
  const base = { client: process.memoryUsage().rss, server: await serverRss() };
  const peak = { ...base };
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak.client = Math.max(peak.client, process.memoryUsage().rss);
      peak.server = Math.max(peak.server, await serverRss());
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  // 256 MiB into sha256, with a small invoke every 50 ms meanwhile.
  let streaming = true;
  const latencies: number[] = [];
  const pinger = (async () => {
    while (streaming) {
      const started = performance.now();
      await invoke(channel, 'ping', new Uint8Array(16), { timeoutMs: 10_000 });
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const started = performance.now();
  let digest = '';
  for await (const chunk of invokeStream(channel, 'sha256', source(256 * MiB))) digest += new TextDecoder().decode(chunk);
  const seconds256 = (performance.now() - started) / 1000;
  streaming = false;
  await pinger;
  // 32 MiB echoed back and compared.
  const hash = createHash('sha256');
  let echoed = 0;
  for await (const chunk of invokeStream(channel, 'echo', source(32 * MiB))) {
    hash.update(chunk);
    echoed += chunk.byteLength;
  }
  sampling = false;
  await sampler;
  // Early stop: break off an echo after 1 MiB, then the channel must still answer and stream.
  let got = 0;
  for await (const chunk of invokeStream(channel, 'echo', source(64 * MiB))) if ((got += chunk.byteLength) >= MiB) break;
  const pong = await invoke(channel, 'ping', new Uint8Array([7]), { timeoutMs: 5_000 });
  const usable = pong[0] === 7 && (await timeStream(channel, 4 * MiB)) > 0;
  await channel.close();
  return {
    transport,
    sha256Ok: digest === expectedSha(256 * MiB),
    echoOk: echoed === 32 * MiB && hash.digest('hex') === expectedSha(32 * MiB),
    seconds256,
    clientGrowthMiB: (peak.client - base.client) / MiB,
    serverGrowthMiB: (peak.server - base.server) / MiB,
    pings: latencies.length,
    maxPingMs: Math.max(...latencies),
    earlyStopUsable: usable,
  };
}

/** `spear-comm bench streams`. */
export async function runStreamBench(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      transports: { type: 'string', default: 'memory,tcp,unix,websocket,grpc' },
      codecs: { type: 'string', default: 'json,cbor,protobuf' },
      size: { type: 'string', default: '64' },
      rounds: { type: 'string', default: '3' },
      check: { type: 'boolean', default: false },
      pin: { type: 'boolean', default: false },
      out: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return (void process.stdout.write(STREAM_USAGE), 0);
  const pin = values.pin && spawnSync('taskset', ['-p', '-c', '1', String(process.pid)]).status === 0;
  const transports = values.transports.split(',');
  const server = await startServer(transports, pin);
  const kernel = await createKernel();
  const results: unknown[] = [];
  try {
    if (values.check) {
      process.stdout.write(
        '| transport | 256 MiB sha256 | s | 32 MiB echo | client growth | server growth | pings | max ping | early stop |\n|---|---|---|---|---|---|---|---|---|\n',
      );
      for (const transport of transports) {
        const r = await check(kernel, server, transport);
        results.push(r);
        const growth = (n: number) => `${n.toFixed(0)} MiB`;
        process.stdout.write(
          `| ${transport} | ${r.sha256Ok ? 'ok' : 'WRONG'} | ${r.seconds256.toFixed(2)} | ${r.echoOk ? 'ok' : 'WRONG'} | ${growth(r.clientGrowthMiB)} | ${transport === 'memory' ? '(same process)' : growth(r.serverGrowthMiB)} | ${r.pings} | ${r.maxPingMs.toFixed(1)} ms | ${r.earlyStopUsable ? 'usable' : 'BROKEN'} |\n`,
        );
      }
    } else {
      const total = Number(values.size) * MiB;
      const rounds = Number(values.rounds);
      process.stdout.write(
        `${values.size} MiB streamed, best of ${rounds}${pin ? ', pinned' : ''}; each case alternates with the raw socket\n\n`,
      );
      process.stdout.write('| transport | codec | MB/s | raw MB/s (tcp; unix for unix) | × raw |\n|---|---|---|---|---|\n');
      for (const transport of transports) {
        for (const codec of values.codecs.split(',')) {
          const rawKind = transport === 'unix' ? 'unix' : 'tcp';
          const channel = await connect(kernel, server, transport, codec);
          // Rounds alternate raw and spear-comm, so both see the same machine load.
          let mbps = 0;
          let raw = 0;
          for (let i = 0; i < rounds; i++) {
            raw = Math.max(raw, await timeRaw(server.raw[rawKind]!, total));
            mbps = Math.max(mbps, await timeStream(channel, total));
          }
          await channel.close();
          results.push({ transport, codec, mbps, raw, rawKind, ratio: mbps / raw });
          process.stdout.write(`| ${transport} | ${codec} | ${mbps.toFixed(0)} | ${raw.toFixed(0)} | ${(mbps / raw).toFixed(2)} |\n`);
        }
      }
    }
  } finally {
    await kernel.close();
    server.stop();
  }
  if (values.out) writeFileSync(values.out, JSON.stringify(results, null, 2));
  return 0;
}
