import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createKernel } from 'spear-comm';
import { startRawStreamServer } from './raw/stream.js';
import type { CpuLine, FailedLine, ReadyLine, ServerEndpoints, ServerSpec } from './server-protocol.js';
import { listenFrames } from './frame-peer.js';
import { ECHO_FUNCTION } from './spear-peer.js';

/**
 * The far side of every cross-process benchmark: `node dist/bench/server.js '<ServerSpec JSON>'`.
 * Opens the spear-comm echo and sink listeners and the raw echo servers, prints one ReadyLine,
 * and runs until SIGTERM or until its parent goes away (stdin closes).
 */
async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as ServerSpec;
  const closers: Array<() => Promise<void>> = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await Promise.allSettled(closers.map((close) => close()));
      process.exit(0);
    })());
  process.on('SIGTERM', () => void stop());
  process.stdin.on('end', () => void stop());

  try {
    const kernel = await createKernel({ plugins: spec.plugins });
    closers.push(() => kernel.close());
    const endpoints: ServerEndpoints = { spear: {}, frames: {}, raw: {} };
    for (const { transport, echoUrl, sinkUrl, framesEchoUrl, framesSinkUrl } of spec.spear) {
      const echo = await kernel.listen(echoUrl, { secret: spec.secret, handlers: { [ECHO_FUNCTION]: (input) => input } });
      // The sink decodes every request and drops it; HealthChecks are still answered by the channel.
      const sink = await kernel.listen(sinkUrl, { secret: spec.secret, onChannel: (channel) => channel.setRequestHandler(() => {}) });
      endpoints.spear[transport] = { echo: echo.url, sink: sink.url };
      const framesEcho = await listenFrames(kernel, transport, framesEchoUrl, false);
      const framesSink = await listenFrames(kernel, transport, framesSinkUrl, true);
      closers.push(framesEcho.close, framesSink.close);
      endpoints.frames[transport] = { echo: framesEcho.url, sink: framesSink.url };
    }
    for (const kind of spec.raw) {
      switch (kind) {
        case 'tcp': {
          const server = await startRawStreamServer({ host: spec.host, port: 0 });
          closers.push(server.close);
          endpoints.raw.tcp = server.address as { host: string; port: number };
          break;
        }
        case 'unix': {
          const server = await startRawStreamServer({ path: join(spec.socketDir, `raw-${process.pid}.sock`) });
          closers.push(server.close);
          endpoints.raw.unix = server.address as { path: string };
          break;
        }
        case 'websocket': {
          const { startRawWebSocketServer } = await import('./raw/websocket.js');
          const server = await startRawWebSocketServer(spec.host);
          closers.push(server.close);
          endpoints.raw.websocket = server.url;
          break;
        }
        case 'grpc': {
          const { startRawGrpcServer } = await import('./raw/grpc.js');
          const server = await startRawGrpcServer(spec.host);
          closers.push(server.close);
          endpoints.raw.grpc = server.address;
          break;
        }
        case 'nats': {
          const { startRawNatsServer } = await import('./raw/nats.js');
          const server = await startRawNatsServer(process.env['SPEAR_NATS_URL'] ?? 'nats://127.0.0.1:4222');
          closers.push(server.close);
          endpoints.raw.nats = server.endpoints;
          break;
        }
      }
    }
    const line: ReadyLine = { ready: true, endpoints };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    // Every later stdin line asks for this process's CPU time so far, answered with one line.
    createInterface({ input: process.stdin }).on('line', () => {
      const { user, system } = process.cpuUsage();
      const answer: CpuLine = { cpuMicros: user + system };
      process.stdout.write(`${JSON.stringify(answer)}\n`);
    });
  } catch (err) {
    const line: FailedLine = { ready: false, error: err instanceof Error ? err.message : String(err) };
    process.stdout.write(`${JSON.stringify(line)}\n`);
    await stop();
  }
}

await main();
