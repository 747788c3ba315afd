// Request/response round trips per second over WebSocket and gRPC: raw `ws` and raw
// `@grpc/grpc-js` echo next to spear-comm's websocket and grpc transports (json codec), 64-byte
// payloads, 1 and 64 in flight, with the server in another process. Run after `npm run build`:
//
//   node dist/bench/wsgrpc-rr.js [--seconds 2] [--rounds 3]
//
// The server runs on CPU 0 and the client on CPU 1 when `taskset` exists (an unpinned
// cross-process ping-pong on a 2-vCPU VM swings by 3x with scheduling). Each figure is the median of
// the rounds; differences under ~20% between runs are noise on a shared machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Metadata, Server, ServerCredentials, credentials, type ClientDuplexStream, type ServerDuplexStream } from '@grpc/grpc-js';
import { createKernel, invoke, type CommunicationChannel } from 'spear-comm';
import { WebSocket, WebSocketServer } from 'ws';

const PAYLOAD = 64;
const IN_FLIGHT = [1, 64] as const;
const ECHO_PATH = '/bench.Echo/Echo';
const identity = (b: Buffer): Buffer => b;

interface Targets {
  rawWs: string;
  rawGrpc: string;
  spearWs: string;
  spearGrpc: string;
}

interface Result {
  target: string;
  inFlight: number;
  perSecond: number[];
  /** CPU time of the client process per round trip, µs (steadier than throughput on a busy machine). */
  clientCpuUs: number[];
}

// ---- server process ----

async function serve(): Promise<void> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(data as Buffer, { binary: true })));
  await once(wss, 'listening');

  const grpcServer = new Server();
  grpcServer.addService({
    Echo: { path: ECHO_PATH, requestStream: true, responseStream: true, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity },
  }, {
    Echo: (call: ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(b));
      call.on('end', () => call.end());
      call.on('error', () => {});
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) => grpcServer.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));

  const kernel = await createKernel();
  const handlers = { echo: (input: Uint8Array) => input };
  const spearWs = await kernel.listen('ws://127.0.0.1:0/bench', { codec: 'json', handlers });
  const spearGrpc = await kernel.listen('grpc://127.0.0.1:0', { codec: 'json', handlers });
  const address = wss.address() as { port: number };
  const targets: Targets = { rawWs: `ws://127.0.0.1:${address.port}`, rawGrpc: `127.0.0.1:${grpcPort}`, spearWs: spearWs.url, spearGrpc: spearGrpc.url };
  process.stdout.write(`${JSON.stringify(targets)}\n`);
  process.stdin.resume();
  await once(process.stdin, 'end');
  await kernel.close();
  wss.close();
  grpcServer.forceShutdown();
}

// ---- client process ----

/** Keeps `inFlight` round trips going for `ms` and returns completed round trips per second. */
type Runner = (inFlight: number, ms: number) => Promise<number>;

/**
 * Keeps `inFlight` echoes going over a raw connection for `ms` and returns round trips per second:
 * every reply sends the next message until time is up, then the last ones are drained.
 */
function closedLoop(send: () => void, listen: (onReply: () => void) => () => void, inFlight: number, ms: number): Promise<number> {
  return new Promise((resolve) => {
    let done = 0;
    let outstanding = inFlight;
    let stop = false;
    const started = performance.now();
    const unlisten = listen(() => {
      done++;
      if (!stop) send();
      else if (--outstanding === 0) {
        unlisten();
        resolve(done / ((performance.now() - started) / 1000));
      }
    });
    setTimeout(() => (stop = true), ms);
    for (let i = 0; i < inFlight; i++) send();
  });
}

async function rawWsRunner(url: string): Promise<[Runner, () => void]> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await once(ws, 'open');
  const payload = Buffer.alloc(PAYLOAD, 1);
  const listen = (onReply: () => void) => {
    ws.on('message', onReply);
    return () => void ws.off('message', onReply);
  };
  return [(inFlight, ms) => closedLoop(() => ws.send(payload), listen, inFlight, ms), () => ws.close()];
}

async function rawGrpcRunner(address: string): Promise<[Runner, () => void]> {
  const client = new Client(address, credentials.createInsecure(), { 'grpc.enable_retries': 0 });
  const call: ClientDuplexStream<Buffer, Buffer> = client.makeBidiStreamRequest(ECHO_PATH, identity, identity, new Metadata(), {});
  call.on('error', () => {});
  const payload = Buffer.alloc(PAYLOAD, 1);
  const listen = (onReply: () => void) => {
    call.on('data', onReply);
    return () => void call.off('data', onReply);
  };
  return [(inFlight, ms) => closedLoop(() => call.write(payload), listen, inFlight, ms), () => {
    call.end();
    client.close();
  }];
}

function spearRunner(channel: CommunicationChannel): Runner {
  const payload = new Uint8Array(PAYLOAD).fill(1);
  return async (inFlight, ms) => {
    let done = 0;
    let stop = false;
    const started = performance.now();
    setTimeout(() => (stop = true), ms);
    await Promise.all(Array.from({ length: inFlight }, async () => {
      while (!stop) {
        await invoke(channel, 'echo', payload);
        done++;
      }
    }));
    return done / ((performance.now() - started) / 1000);
  };
}

async function client(targets: Targets, seconds: number, rounds: number): Promise<void> {
  const kernel = await createKernel();
  const runners: Array<[string, Runner, () => unknown]> = [];
  const [rawWs, closeRawWs] = await rawWsRunner(targets.rawWs);
  runners.push(['raw ws echo', rawWs, closeRawWs]);
  const [rawGrpc, closeRawGrpc] = await rawGrpcRunner(targets.rawGrpc);
  runners.push(['raw grpc-js bidi echo', rawGrpc, closeRawGrpc]);
  for (const [name, url] of [['spear-comm websocket (json)', targets.spearWs], ['spear-comm grpc (json)', targets.spearGrpc]] as const) {
    const channel = await kernel.connect(url, { codec: 'json' });
    runners.push([name, spearRunner(channel), () => channel.close()]);
  }
  const results: Result[] = [];
  for (const [target] of runners) for (const inFlight of IN_FLIGHT) results.push({ target, inFlight, perSecond: [], clientCpuUs: [] });
  // Warm up every path, then interleave the rounds so drift on the machine hits all targets alike.
  for (const [, run] of runners) for (const inFlight of IN_FLIGHT) await run(inFlight, 300);
  for (let round = 0; round < rounds; round++) {
    for (const [target, run] of runners) {
      for (const inFlight of IN_FLIGHT) {
        const cpuBefore = process.cpuUsage();
        const startedAt = performance.now();
        const perSecond = await run(inFlight, seconds * 1000);
        const cpu = process.cpuUsage(cpuBefore);
        const roundTrips = perSecond * ((performance.now() - startedAt) / 1000);
        const result = results.find((r) => r.target === target && r.inFlight === inFlight)!;
        result.perSecond.push(perSecond);
        result.clientCpuUs.push((cpu.user + cpu.system) / roundTrips);
        process.stderr.write(`round ${round + 1}/${rounds}  ${target.padEnd(28)} ${String(inFlight).padStart(2)} in flight: ${Math.round(perSecond)} rt/s\n`);
      }
    }
  }
  for (const [, , close] of runners) await close();
  await kernel.close();
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

// ---- orchestration ----

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function pinned(cpu: number, args: string[]): [string, string[]] {
  return canPin ? ['taskset', ['-c', String(cpu), process.execPath, ...args]] : [process.execPath, args];
}

const canPin = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && spawnSync('taskset', ['-c', '1', 'true']).status === 0;

async function firstLine(child: ChildProcess): Promise<string> {
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return line;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { serve: { type: 'boolean' }, client: { type: 'string' }, seconds: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } } });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  if (values.serve) return serve();
  if (values.client) return client(JSON.parse(values.client) as Targets, seconds, rounds);

  const self = fileURLToPath(import.meta.url);
  const loadBefore = loadavg()[0]!;
  const [serverCmd, serverArgs] = pinned(0, [self, '--serve']);
  const server = spawn(serverCmd, serverArgs, { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const targets = await firstLine(server);
    const [clientCmd, clientArgs] = pinned(1, [self, '--client', targets, '--seconds', String(seconds), '--rounds', String(rounds)]);
    const clientProcess = spawn(clientCmd, clientArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    const results = JSON.parse(await firstLine(clientProcess)) as Result[];
    const raw = (target: string, inFlight: number) => median(results.find((r) => r.target === target && r.inFlight === inFlight)!.perSecond);
    const rows = results.map((r) => {
      const base = r.target.includes('websocket') ? 'raw ws echo' : r.target.includes('grpc (json)') ? 'raw grpc-js bidi echo' : undefined;
      const value = median(r.perSecond);
      return `| ${r.target} | ${r.inFlight} | ${Math.round(value).toLocaleString('en-US')} | ${base ? `${(value / raw(base, r.inFlight)).toFixed(2)}x of raw` : '—'} | ${median(r.clientCpuUs).toFixed(1)} |`;
    });
    process.stdout.write([
      `Request/response, ${PAYLOAD} B payload, server and client in separate processes${canPin ? ' (server on CPU 0, client on CPU 1)' : ' (unpinned: taskset unavailable)'}; median of ${rounds} rounds of ${seconds} s, node ${process.version}; load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`,
      '',
      '| target | in flight | round trips/s | vs raw | client CPU µs per round trip |',
      '|---|---:|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n'));
  } finally {
    server.stdin!.end();
    await once(server, 'exit');
  }
}

await main();
