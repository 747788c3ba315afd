// Soak: minutes of request/response against listeners in their own process (tcp, unix, websocket
// and grpc by default), with connection churn and hostile peers mixed in; reports requests served,
// errors, answers lost or wrong, and the RSS of both processes over time (it must level off, not climb).
//
//   npm run build && node dist/bench/soak.js [--minutes 3] [--transports tcp,unix,ws,grpc] [--channels 8] [--in-flight 8] [--out soak.json]
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKernel, invoke, type CommunicationChannel, type Kernel } from 'spear-comm';
import { encodeFrameHeader } from 'spear-comm/transport-kit';

const self = fileURLToPath(import.meta.url);
const SECRET = 'soak-secret';
const MiB = 1024 * 1024;

interface MemorySample {
  atSeconds: number;
  listenerRssMiB: number;
  listenerHeapMiB: number;
  clientRssMiB: number;
  requests: number;
}

// ---- The listener process ----

/** Where the listener process listens, by the name used in --transports. */
const LISTEN_URLS: Record<string, (dir: string) => string> = {
  tcp: () => 'tcp://127.0.0.1:0',
  unix: (dir) => `unix://${join(dir, 'soak.sock')}`,
  ws: () => 'ws://127.0.0.1:0/soak',
  grpc: () => 'grpc://127.0.0.1:0',
};

async function serve(dir: string, transports: string[]): Promise<void> {
  const kernel = await createKernel();
  const handlers = {
    echo: (input: Uint8Array) => input,
    memory: () => Buffer.from(JSON.stringify(process.memoryUsage())),
  };
  const options = { secret: SECRET, handlers, authTimeoutMs: 2_000, frameTimeoutMs: 2_000, maxConnections: 500 };
  const listeners = await Promise.all(transports.map((name) => kernel.listen(LISTEN_URLS[name]!(dir), options)));
  let rejected = 0;
  for (const listener of listeners) listener.on('rejected', () => rejected++);
  const connections = () => listeners.reduce((n, listener) => n + listener.connectionCount, 0);
  handlers.memory = () => Buffer.from(JSON.stringify({ ...process.memoryUsage(), rejected, connections: connections() }));
  process.stdout.write(`${JSON.stringify(listeners.map((listener) => listener.url))}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void kernel.close().then(() => process.exit(0)));
}

// ---- The load ----

interface Totals {
  served: number;
  errors: number;
  wrongAnswers: number;
  inFlight: number;
  churned: number;
  hostilePeers: number;
  hostileClosedByListener: number;
}

/** One channel with `inFlight` closed loops of echo requests; `stop()` lets every loop finish its request. */
function loadOn(channel: CommunicationChannel, inFlight: number, totals: Totals, errorSamples: string[]): { stop(): Promise<void> } {
  let running = true;
  const payload = Buffer.alloc(256);
  const loop = async (lane: number) => {
    let n = 0;
    while (running) {
      payload.writeUInt32BE(lane, 0);
      payload.writeUInt32BE(n++, 4);
      const sent = Uint8Array.from(payload);
      totals.inFlight++;
      try {
        const answer = await invoke(channel, 'echo', sent, { timeoutMs: 30_000 });
        if (Buffer.compare(answer, sent) === 0) totals.served++;
        else totals.wrongAnswers++;
      } catch (err) {
        totals.errors++;
        if (errorSamples.length < 5) errorSamples.push((err as Error).message);
      } finally {
        totals.inFlight--;
      }
    }
  };
  const loops = Array.from({ length: inFlight }, (_, lane) => loop(lane));
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** A peer that sends garbage, or a length prefix and then nothing; counts whether the listener closes it. */
function hostilePeer(url: string, totals: Totals): void {
  const target = url.startsWith('unix:') ? { path: new URL(url).pathname } : { host: '127.0.0.1', port: Number(new URL(url).port) };
  const socket = netConnect(target);
  totals.hostilePeers++;
  socket.on('error', () => {});
  // Read (and drop) whatever the listener answers, or its closing the connection would go unseen.
  socket.resume();
  socket.on('connect', () => {
    if (totals.hostilePeers % 2 === 0) socket.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    else socket.write(Buffer.concat([encodeFrameHeader(8 * MiB), Buffer.alloc(100)]));
  });
  socket.on('close', () => totals.hostileClosedByListener++);
}

async function listenerMemory(
  channel: CommunicationChannel,
): Promise<{ rss: number; heapUsed: number; rejected: number; connections: number }> {
  return JSON.parse(Buffer.from(await invoke(channel, 'memory', new Uint8Array(0))).toString('utf8')) as {
    rss: number;
    heapUsed: number;
    rejected: number;
    connections: number;
  };
}

async function soak(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '3' },
      channels: { type: 'string', default: '8' },
      transports: { type: 'string', default: 'tcp,unix,ws,grpc' },
      'in-flight': { type: 'string', default: '8' },
      out: { type: 'string' },
    },
  });
  const minutes = Number(values.minutes);
  const perTransport = Number(values.channels);
  const transports = values.transports.split(',').filter((name) => name !== '');
  for (const name of transports)
    if (!LISTEN_URLS[name])
      throw new Error(`unknown transport "${name}" in --transports; use any of ${Object.keys(LISTEN_URLS).join(',')}`);
  const inFlight = Number(values['in-flight']);
  const dir = mkdtempSync(join(tmpdir(), 'soak-'));
  const child = spawn(process.execPath, [self, '--serve', dir, transports.join(',')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  const urls = JSON.parse(line) as string[];
  const kernel: Kernel = await createKernel();
  const totals: Totals = { served: 0, errors: 0, wrongAnswers: 0, inFlight: 0, churned: 0, hostilePeers: 0, hostileClosedByListener: 0 };
  const errorSamples: string[] = [];
  const probe = await kernel.connect(urls[0]!, { token: SECRET });

  const lanes: Array<{ url: string; channel: CommunicationChannel; load: { stop(): Promise<void> } }> = [];
  const open = async (url: string) => {
    const channel = await kernel.connect(url, { token: SECRET, codec: lanes.length % 2 === 0 ? 'json' : 'cbor' });
    return { url, channel, load: loadOn(channel, inFlight, totals, errorSamples) };
  };
  const started = Date.now();
  const elapsed = () => (Date.now() - started) / 1000;
  const samples: MemorySample[] = [];
  const sample = async () => {
    const memory = await listenerMemory(probe);
    const s = {
      atSeconds: Math.round(elapsed()),
      listenerRssMiB: +(memory.rss / MiB).toFixed(1),
      listenerHeapMiB: +(memory.heapUsed / MiB).toFixed(1),
      clientRssMiB: +(process.memoryUsage().rss / MiB).toFixed(1),
      requests: totals.served,
    };
    samples.push(s);
    console.log(
      `t=${s.atSeconds}s served=${totals.served} errors=${totals.errors} wrong=${totals.wrongAnswers} churned=${totals.churned} hostile=${totals.hostilePeers}/${totals.hostileClosedByListener} closed listener rss=${s.listenerRssMiB} MiB heap=${s.listenerHeapMiB} MiB connections=${memory.connections} client rss=${s.clientRssMiB} MiB`,
    );
  };
  await sample(); // before any load: the baseline
  for (const url of urls) for (let i = 0; i < perTransport; i++) lanes.push(await open(url));

  // Churn: every 500 ms one channel is drained, closed and replaced; a hostile peer arrives.
  let next = 0;
  const churning = new Set<Promise<void>>();
  const churn = setInterval(() => {
    const index = next++ % lanes.length;
    const lane = lanes[index]!;
    hostilePeer(lane.url, totals);
    const replaced = lane.load
      .stop()
      .then(() => lane.channel.close())
      .then(() => open(lane.url))
      .then(
        (fresh) => {
          lanes[index] = fresh;
          totals.churned++;
        },
        (err: unknown) => {
          totals.errors++;
          if (errorSamples.length < 5) errorSamples.push(`reconnect: ${(err as Error).message}`);
        },
      );
    churning.add(replaced);
    void replaced.finally(() => churning.delete(replaced));
  }, 500);
  const sampler = setInterval(() => void sample(), 15_000);
  await new Promise((resolve) => setTimeout(resolve, minutes * 60_000));
  clearInterval(churn);
  clearInterval(sampler);
  await Promise.all(churning);
  await Promise.all(lanes.map((lane) => lane.load.stop()));
  await Promise.all(lanes.map((lane) => lane.channel.close()));
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // let the last hostile peers be timed out
  await sample();
  const final = await listenerMemory(probe);
  await kernel.close();
  child.stdin.end();
  await once(child, 'exit');
  rmSync(dir, { recursive: true, force: true });

  const mid = samples[Math.floor(samples.length / 2)]!;
  const afterWarmup = samples.find((s) => s.atSeconds >= 30) ?? samples[1] ?? samples[0]!;
  const last = samples[samples.length - 1]!;
  const summary = {
    minutes,
    transports,
    channels: perTransport * urls.length,
    inFlightPerChannel: inFlight,
    requestsServed: totals.served,
    errors: totals.errors,
    wrongAnswers: totals.wrongAnswers,
    unsettled: totals.inFlight,
    requestsPerSecond: Math.round(totals.served / (minutes * 60)),
    channelsChurned: totals.churned,
    hostilePeers: totals.hostilePeers,
    hostilePeersClosedByListener: totals.hostileClosedByListener,
    listenerRejected: final.rejected,
    listenerConnectionsAtEnd: final.connections - 1, // less the probe

    listenerRssMiB: {
      start: samples[0]!.listenerRssMiB,
      afterWarmup: afterWarmup.listenerRssMiB,
      middle: mid.listenerRssMiB,
      end: last.listenerRssMiB,
    },
    clientRssMiB: {
      start: samples[0]!.clientRssMiB,
      afterWarmup: afterWarmup.clientRssMiB,
      middle: mid.clientRssMiB,
      end: last.clientRssMiB,
    },
    errorSamples,
    samples,
  };
  console.log(JSON.stringify({ ...summary, samples: undefined }, null, 2));
  if (values.out) writeFileSync(values.out, JSON.stringify(summary, null, 2));
  const ok = totals.errors === 0 && totals.wrongAnswers === 0 && totals.inFlight === 0 && final.connections === 1;
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[2] === '--serve') await serve(process.argv[3]!, process.argv[4]!.split(','));
else await soak();
