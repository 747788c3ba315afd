// Request/response round trips per second over spear-comm tcp and unix (json codec) next to a raw
// node:net length-prefixed ping-pong, all measured in one run, the server in its own process.
//
//   npm run build && node dist/bench/stream-rr.js [--seconds 3] [--payload 64] [--only tcp/spear ...]
//
// With taskset available the server runs on CPU 0 and the client on CPU 1 (see TOOLCHAIN.md:
// unpinned cross-process figures vary threefold with where the scheduler puts them).
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createKernel, invoke } from 'spear-comm';

const self = fileURLToPath(import.meta.url);

type RawMode = 'naive' | 'batched';

// ---- Raw node:net baseline: 4-byte big-endian length, then the bytes ----

/** Cuts complete frames off `buffered`; returns how many and where the complete part ends. */
function completeFrames(buffered: Buffer): { count: number; end: number } {
  let count = 0;
  let end = 0;
  while (buffered.length - end >= 4) {
    const size = 4 + buffered.readUInt32BE(end);
    if (buffered.length - end < size) break;
    end += size;
    count++;
  }
  return { count, end };
}

/** Echoes every frame back: one write per frame (naive) or one write per read (batched). */
function rawEcho(socket: Socket, mode: RawMode): void {
  socket.setNoDelay(true);
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const { end } = completeFrames(buffered);
    if (mode === 'batched') {
      if (end > 0) socket.write(buffered.subarray(0, end));
    } else {
      for (let at = 0; at < end; at += 4 + buffered.readUInt32BE(at)) socket.write(buffered.subarray(at, at + 4 + buffered.readUInt32BE(at)));
    }
    buffered = buffered.subarray(end);
  });
  socket.on('error', () => {});
}

function rawClient(url: string, mode: RawMode, inFlight: number, payloadSize: number, onAnswer: () => void): Socket {
  const parsed = new URL(url);
  const socket = parsed.protocol === 'unix:' ? connect(parsed.pathname) : connect(Number(parsed.port), parsed.hostname);
  socket.setNoDelay(true);
  const frame = Buffer.alloc(4 + payloadSize, 7);
  frame.writeUInt32BE(payloadSize, 0);
  const send = (n: number) => {
    if (mode === 'batched' || n === 1) socket.write(n === 1 ? frame : Buffer.concat(Array.from({ length: n }, () => frame)));
    else for (let i = 0; i < n; i++) socket.write(frame);
  };
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('connect', () => send(inFlight));
  socket.on('data', (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    const { count, end } = completeFrames(buffered);
    buffered = buffered.subarray(end);
    for (let i = 0; i < count; i++) onAnswer();
    if (count > 0) send(count);
  });
  socket.on('error', () => {});
  return socket;
}

// ---- Roles ----

async function serve(kind: string, url: string): Promise<void> {
  let closeServer: () => Promise<void>;
  if (kind.startsWith('raw-')) {
    const mode = kind.slice(4) as RawMode;
    const parsed = new URL(url);
    const server = createServer((socket) => rawEcho(socket, mode));
    if (parsed.protocol === 'unix:') server.listen(parsed.pathname);
    else server.listen(Number(parsed.port), parsed.hostname);
    await once(server, 'listening');
    const address = server.address();
    process.stdout.write(`READY ${typeof address === 'string' ? `unix://${address}` : `tcp://127.0.0.1:${address!.port}`}\n`);
    closeServer = () => new Promise((resolve) => server.close(() => resolve()));
  } else if (kind === 'frames') {
    // The transport alone: a FrameConnection that echoes every frame (no channel, codec or handshake).
    const kernel = await createKernel();
    const listener = await kernel.transport(kernel.transportNameFor(url)).listen(new URL(url), {
      maxFrameSize: 1 << 20,
      onConnection: (connection) => connection.start({ onFrame: (frame) => void connection.send(frame).catch(() => {}), onClose: () => {} }),
    });
    process.stdout.write(`READY ${listener.url}\n`);
    closeServer = () => listener.close().then(() => kernel.close());
  } else {
    const kernel = await createKernel();
    const listener = await kernel.listen(url, { codec: 'json', handlers: { echo: (input) => input } });
    process.stdout.write(`READY ${listener.url}\n`);
    closeServer = () => kernel.close();
  }
  // Ends when the orchestrator closes our stdin; closing first removes a unix socket file.
  process.stdin.resume();
  process.stdin.on('end', () => {
    const cpu = process.cpuUsage();
    process.stderr.write(`[server cpu ${((cpu.user + cpu.system) / 1e3).toFixed(0)} ms] `);
    void closeServer().then(() => process.exit(0));
  });
}

async function client(kind: string, url: string, inFlight: number, seconds: number, payloadSize: number): Promise<void> {
  let answered = 0;
  let stop = false;
  let finish: () => Promise<void>;
  if (kind.startsWith('raw-')) {
    const socket = rawClient(url, kind.slice(4) as RawMode, inFlight, payloadSize, () => answered++);
    finish = async () => void socket.destroy();
  } else if (kind === 'frames') {
    const kernel = await createKernel();
    const connection = await kernel.transport(kernel.transportNameFor(url)).connect(new URL(url), { maxFrameSize: 1 << 20, timeoutMs: 5_000 });
    const frame = new Uint8Array(payloadSize).fill(7);
    const next = () => void connection.send(frame).catch(() => {});
    connection.start({
      onFrame: () => {
        answered++;
        if (!stop) next();
      },
      onClose: () => {},
    });
    for (let i = 0; i < inFlight; i++) next();
    finish = () => connection.close().then(() => kernel.close());
  } else {
    const kernel = await createKernel();
    const channel = await kernel.connect(url, { codec: 'json' });
    const payload = new Uint8Array(payloadSize).fill(7);
    const workers = Array.from({ length: inFlight }, async () => {
      while (!stop) {
        await invoke(channel, 'echo', payload);
        answered++;
      }
    });
    finish = async () => {
      await Promise.all(workers);
      await kernel.close();
    };
  }
  await new Promise((resolve) => setTimeout(resolve, 500)); // warm-up: JIT, socket buffers
  const startCount = answered;
  const started = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const count = answered - startCount;
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  process.stderr.write(`[client cpu ${((cpu.user + cpu.system) / 1e6 / elapsed * 100).toFixed(0)}% , ${((cpu.user + cpu.system) / count).toFixed(1)} µs/rt] `);
  stop = true;
  await finish();
  process.stdout.write(`${JSON.stringify({ perSecond: count / elapsed })}\n`);
  process.exit(0);
}

// ---- Orchestration ----

let pinnable = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

function start(cpu: number, args: string[]) {
  const command = pinnable ? 'taskset' : process.execPath;
  const argv = pinnable ? ['-c', String(cpu), process.execPath, self, ...args] : [self, ...args];
  return spawn(command, argv, { stdio: ['pipe', 'pipe', 'inherit'] });
}

async function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) {
    text += String(chunk);
    const newline = text.indexOf('\n');
    if (newline >= 0) return text.slice(0, newline);
  }
  throw new Error('the child process ended without answering');
}

async function measure(kind: string, url: string, inFlight: number, seconds: number, payload: number): Promise<number> {
  const server = start(0, ['serve', kind, url]);
  try {
    const ready = await firstLine(server.stdout);
    const bound = ready.replace(/^READY /, '');
    const runner = start(1, ['client', kind, bound, String(inFlight), String(seconds), String(payload)]);
    runner.stdin.end();
    const { perSecond } = JSON.parse(await firstLine(runner.stdout)) as { perSecond: number };
    return perSecond;
  } finally {
    server.stdin.end();
    await once(server, 'exit');
  }
}

async function orchestrate(seconds: number, payload: number, only: string[] | undefined): Promise<void> {
  let sockets = 0;
  const sock = () => `unix:///tmp/spear-bench-${process.pid}-${++sockets}.sock`;
  const rows: Array<{ wire: string; what: string; inFlight: number; perSecond: number }> = [];
  const cases: Array<[wire: string, kind: string, url: string, inFlight: number]> = [];
  for (const inFlight of [1, 64]) {
    cases.push(['tcp', 'raw-naive', 'tcp://127.0.0.1:0', inFlight]);
    if (inFlight > 1) cases.push(['tcp', 'raw-batched', 'tcp://127.0.0.1:0', inFlight]);
    cases.push(['tcp', 'frames', 'tcp://127.0.0.1:0', inFlight]);
    cases.push(['tcp', 'spear-comm', 'tcp://127.0.0.1:0', inFlight]);
    cases.push(['unix', 'raw-naive', sock(), inFlight]);
    if (inFlight > 1) cases.push(['unix', 'raw-batched', sock(), inFlight]);
    cases.push(['unix', 'frames', sock(), inFlight]);
    cases.push(['unix', 'spear-comm', sock(), inFlight]);
  }
  process.stderr.write(`stream request/response, ${payload} B payload, json codec, ${seconds} s per case, ${pinnable ? 'server pinned to CPU 0, client to CPU 1' : 'unpinned (taskset not available)'}\n`);
  for (const [wire, kind, url, inFlight] of cases.filter(([wire, kind]) => !only || only.some((o) => `${wire}/${kind}`.includes(o)))) {
    process.stderr.write(`  ${wire} ${kind} ${inFlight} in flight ... `);
    const perSecond = await measure(kind, url, inFlight, seconds, payload);
    process.stderr.write(`${Math.round(perSecond)} rt/s\n`);
    rows.push({ wire, what: kind, inFlight, perSecond });
  }
  const lines = [
    '| wire | in flight | raw naive rt/s | raw batched rt/s | transport only rt/s | spear-comm rt/s | spear-comm vs naive | spear-comm vs batched |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const wire of ['tcp', 'unix']) {
    for (const inFlight of [1, 64]) {
      const find = (what: string) => rows.find((r) => r.wire === wire && r.inFlight === inFlight && r.what === what)?.perSecond;
      const naive = find('raw-naive');
      const batched = find('raw-batched');
      const frames = find('frames');
      const spear = find('spear-comm');
      if (naive === undefined || spear === undefined) continue;
      const fmt = (n: number | undefined) => (n === undefined ? '–' : String(Math.round(n)));
      lines.push(`| ${wire} | ${inFlight} | ${fmt(naive)} | ${fmt(batched)} | ${fmt(frames)} | ${fmt(spear)} | ${(spear / naive).toFixed(2)}× | ${batched ? `${(spear / batched).toFixed(2)}×` : '–'} |`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '3' },
    payload: { type: 'string', default: '64' },
    only: { type: 'string', multiple: true },
    'no-pin': { type: 'boolean', default: false },
  },
});
if (values['no-pin']) pinnable = false;
const [role, kind, url, inFlight, seconds, payload] = positionals;
if (role === 'serve') await serve(kind!, url!);
else if (role === 'client') await client(kind!, url!, Number(inFlight), Number(seconds), Number(payload));
else await orchestrate(Number(values.seconds), Number(values.payload), values.only);
