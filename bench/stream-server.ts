import { createHash } from 'node:crypto';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { createKernel, serve, streaming } from 'spear-comm';

/**
 * The far side of `spear-comm bench streams`: `node dist/bench/stream-server.js '<spec JSON>'`.
 * Serves the streaming functions `sink` (counts), `sha256` and `echo` plus a plain `ping` on each
 * URL, and a raw socket sink per raw address (the first 8 bytes give the byte count to expect; one
 * byte answers when all have arrived). Prints one JSON line with the bound URLs, then answers each
 * stdin line with `{"rss":…}`.
 */
export interface StreamServerSpec {
  urls: Record<string, string>;
  raw: Record<string, { host: string; port: number } | { path: string }>;
}

export const STREAM_HANDLERS = {
  sink: streaming(async function* (chunks) {
    let n = 0;
    for await (const chunk of chunks) n += chunk.byteLength;
    yield new TextEncoder().encode(String(n));
  }),
  sha256: streaming(async function* (chunks) {
    const hash = createHash('sha256');
    for await (const chunk of chunks) hash.update(chunk);
    yield new TextEncoder().encode(hash.digest('hex'));
  }),
  echo: streaming(async function* (chunks) {
    yield* chunks;
  }),
  ping: (input: Uint8Array) => input,
};

function rawSink(where: { host: string; port: number } | { path: string }): Promise<{ address: unknown; close: () => void }> {
  const server = net.createServer((socket) => {
    let expected = -1;
    let got = 0;
    let head = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      if (expected < 0) {
        head = Buffer.concat([head, data]);
        if (head.length < 8) return;
        expected = Number(head.readBigUInt64BE(0));
        got = head.length - 8;
      } else got += data.length;
      if (got >= expected) {
        socket.write(Buffer.from([1]));
        expected = -1;
        head = Buffer.alloc(0);
      }
    });
    socket.on('error', () => {});
  });
  return new Promise((resolve) =>
    server.listen(where, () => resolve({ address: 'path' in where ? where : server.address(), close: () => server.close() })),
  );
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as StreamServerSpec;
  const kernel = await createKernel();
  const urls: Record<string, string> = {};
  for (const [name, url] of Object.entries(spec.urls)) {
    const listener = await kernel.listen(url, { onChannel: (channel) => serve(channel, STREAM_HANDLERS) });
    urls[name] = listener.url;
  }
  const raw: Record<string, unknown> = {};
  for (const [name, where] of Object.entries(spec.raw)) raw[name] = (await rawSink(where)).address;
  process.stdout.write(`${JSON.stringify({ urls, raw })}\n`);
  createInterface({ input: process.stdin }).on('line', () =>
    process.stdout.write(`${JSON.stringify({ rss: process.memoryUsage().rss })}\n`),
  );
  process.stdin.on('end', () => void kernel.close().finally(() => process.exit(0)));
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) void main();
