// Measures a listener's memory against an authenticated peer that sends many requests and reads
// no answer (issue #14): the listener runs in its own process; this process is the hostile peer
// and an honest client. Not part of `npm test` (it takes a minute or more per transport).
//
//   npm run build && node test/hardening/scripts/unread-flood.mjs [--transports tcp,unix,websocket,grpc]
//       [--requests 20000] [--size 16384] [--max-concurrent N] [--json out.json]
//
// Per transport it prints the listener's RSS before the flood, its peak while the peer does not
// read (sampled every 20 ms inside the listener), and after every answer was read; the honest
// client's calls during the flood; and whether all answers arrived once the peer read.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { createKernel, decodeHandshake, encodeHandshake, invoke } from 'spear-comm';

const MiB = 1024 * 1024;
const SECRET = 'unread-flood';
const self = fileURLToPath(import.meta.url);

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

// ---- The listener process ----

async function serveMain(url, maxConcurrent) {
  const kernel = await createKernel();
  let peak = process.memoryUsage().rss;
  let handled = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const handlers = {
    echo: (input) => {
      handled++;
      return input;
    },
    stats: () => {
      const rss = process.memoryUsage().rss;
      peak = Math.max(peak, rss);
      return Buffer.from(JSON.stringify({ rss, peak, handled, connections: listener.connectionCount }));
    },
    resetPeak: () => {
      global.gc?.();
      peak = process.memoryUsage().rss;
      return new Uint8Array(0);
    },
  };
  const listener = await kernel.listen(url, {
    secret: SECRET,
    handlers,
    ...(maxConcurrent ? { maxConcurrentRequests: Number(maxConcurrent) } : {}),
  });
  process.stdout.write(`${listener.url}\n`);
  process.stdin.resume();
  process.stdin.on('end', async () => {
    clearInterval(sampler);
    await kernel.close();
    process.exit(0);
  });
}

// ---- The measuring process ----

function startListener(url, maxConcurrent) {
  const child = spawn(
    process.execPath,
    ['--expose-gc', self, '--serve', url, ...(maxConcurrent ? ['--max-concurrent', maxConcurrent] : [])],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ child, url: line });
    });
    child.once('exit', (code) => reject(new Error(`listener exited with ${code}`)));
  });
}

/** A peer on the transport's raw FrameConnection: handshake, then requests; it can stop reading. */
async function hostilePeer(kernel, url) {
  const transport = kernel.transport(kernel.transportNameFor(url));
  const codec = kernel.codec('cbor');
  const connection = await transport.connect(new URL(url), { maxFrameSize: 16 * MiB, timeoutMs: 10_000 });
  let answered = 0;
  let failed = 0;
  let onAuth;
  const auth = new Promise((resolve) => (onAuth = resolve));
  let first = true;
  connection.start({
    onFrame(frame) {
      if (first) {
        first = false;
        return onAuth(decodeHandshake(frame, 'AuthResponse').success);
      }
      const message = codec.decode(frame);
      if (message.type === 'ExecutionResponse' && message.success) answered++;
      else failed++;
    },
    onClose: () => onAuth(false),
  });
  await connection.send(
    encodeHandshake({
      type: 'AuthRequest',
      requestId: 'flood',
      timestamp: Date.now(),
      metadata: {},
      instanceId: 'flood',
      token: SECRET,
      clientVersion: 'flood',
      clientType: 'process',
      codec: 'cbor',
      extraParams: {},
    }),
  );
  if (!(await auth)) throw new Error('the listener refused the hostile peer');
  return {
    connection,
    counts: () => ({ answered, failed }),
    send: (i, input) =>
      connection.send(
        codec.encode({
          type: 'ExecutionRequest',
          requestId: `f${i}`,
          timestamp: Date.now(),
          metadata: {},
          functionName: 'echo',
          input,
          timeoutMs: 600_000,
        }),
      ),
  };
}

async function measure(transport, options) {
  const dir = mkdtempSync(join(tmpdir(), 'flood-'));
  const urls = {
    tcp: 'tcp://127.0.0.1:0',
    unix: `unix://${join(dir, 'l.sock')}`,
    websocket: 'ws://127.0.0.1:0/flood',
    grpc: 'grpc://127.0.0.1:0',
  };
  const { child, url } = await startListener(urls[transport], options.maxConcurrent);
  const kernel = await createKernel();
  try {
    const honest = await kernel.connect(url, { token: SECRET, codec: 'cbor' });
    const stats = async () => JSON.parse(Buffer.from(await invoke(honest, 'stats', new Uint8Array(0))).toString());
    await invoke(honest, 'resetPeak', new Uint8Array(0));
    const before = await stats();
    const peer = await hostilePeer(kernel, url);
    peer.connection.pause(); // the peer reads nothing from now on
    const started = Date.now();
    let sent = 0;
    const input = new Uint8Array(options.size).fill(7);
    const sends = [];
    for (let i = 0; i < options.requests; i++) {
      sends.push(peer.send(i, input).then(() => sent++));
      if (i % 500 === 499) await sleep(0); // let the transport write as it goes
    }
    // Wait until the listener has stopped taking requests (nothing handled for 2 s) or took all.
    let last = -1;
    let during;
    for (;;) {
      await sleep(2_000);
      during = await stats();
      if (during.handled === last || during.handled - before.handled >= options.requests) break;
      last = during.handled;
    }
    // The honest client on the same listener, meanwhile.
    const honestStart = performance.now();
    const honestCalls = 100;
    let honestOk = 0;
    for (let i = 0; i < honestCalls; i++) {
      const out = await invoke(honest, 'echo', Uint8Array.of(i), { timeoutMs: 10_000 });
      if (out[0] === i) honestOk++;
    }
    const honestMs = performance.now() - honestStart;
    const stalled = await stats();
    const sentWhileStalled = sent;
    // Now the peer reads: every answer must arrive.
    peer.connection.resume();
    await Promise.all(sends);
    const deadline = Date.now() + 600_000;
    while (peer.counts().answered + peer.counts().failed < options.requests && Date.now() < deadline) await sleep(100);
    const drainedMs = Date.now() - started;
    await sleep(500);
    const after = await stats();
    await peer.connection.close();
    await honest.close();
    return {
      transport,
      requests: options.requests,
      size: options.size,
      rssBeforeMiB: +(before.rss / MiB).toFixed(1),
      rssPeakMiB: +(Math.max(during.peak, stalled.peak, after.peak) / MiB).toFixed(1),
      rssAfterMiB: +(after.rss / MiB).toFixed(1),
      handledWhileStalled: stalled.handled - before.handled,
      peerSendsCompletedWhileStalled: sentWhileStalled,
      honestCalls: `${honestOk}/${honestCalls} in ${honestMs.toFixed(0)} ms`,
      answered: peer.counts().answered,
      failed: peer.counts().failed,
      totalSeconds: +(drainedMs / 1000).toFixed(1),
    };
  } finally {
    await kernel.close();
    child.stdin.end();
    await new Promise((resolve) => child.once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve')) {
  await serveMain(arg('serve'), arg('max-concurrent'));
} else {
  const options = {
    requests: Number(arg('requests', '20000')),
    size: Number(arg('size', '16384')),
    maxConcurrent: arg('max-concurrent'),
  };
  const results = [];
  for (const transport of arg('transports', 'tcp,unix,websocket,grpc').split(',')) {
    const result = await measure(transport, options);
    console.log(JSON.stringify(result));
    results.push(result);
  }
  const out = arg('json');
  if (out) writeFileSync(out, JSON.stringify(results, null, 2));
  const bad = results.filter((r) => r.rssPeakMiB >= 256 || r.answered !== r.requests || !r.honestCalls.startsWith('100/'));
  process.exit(bad.length ? 1 : 0);
}
