// Request/response between two processes over tcp and unix, with every installed codec. The child
// (test/fixtures/stream-peer.mjs) imports the built package: run `npm run build` first (`npm test` does).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCode, createKernel, invoke, type CommunicationChannel } from 'spear-comm';
import { sameBytes } from './support/streams.js';

const fixture = fileURLToPath(new URL('./fixtures/stream-peer.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sc-2p-'));
const kernel = await createKernel();
const SECRET = 'two-process-secret';
let counter = 0;
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});
afterAll(async () => {
  await kernel.close();
  rmSync(dir, { recursive: true, force: true });
});

const urls: Record<string, () => string> = {
  tcp: () => 'tcp://127.0.0.1:0',
  unix: () => `unix://${join(dir, `${++counter}.sock`)}`,
};

/** Listens, starts a child that connects back with `codec`, and returns the channel to it. */
async function childOver(transport: string, codec: string) {
  let onChannel!: (channel: CommunicationChannel) => void;
  const accepted = new Promise<CommunicationChannel>((resolve) => (onChannel = resolve));
  const listener = await kernel.listen(urls[transport]!(), { secret: SECRET, onChannel });
  const child = spawn(process.execPath, [fixture, listener.url, codec, SECRET], { stdio: ['ignore', 'inherit', 'inherit'] });
  children.add(child);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const channel = await Promise.race([
    accepted,
    exited.then(([code]) => {
      throw new Error(`The child exited (code ${code}) before connecting to ${listener.url}; is dist/ built (npm run build)?`);
    }),
  ]);
  return { channel, child, exited, listener };
}

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe.each(Object.keys(urls))('%s between two processes', (transport) => {
  it.each(kernel.codecs())('invokes the functions a child process serves, with codec %s', async (codec) => {
    const { channel, child, exited, listener } = await childOver(transport, codec);
    expect(channel.codec).toBe(codec);
    expect(text(await invoke(channel, 'pid', new Uint8Array(0)))).toBe(String(child.pid));
    const inputs = Array.from({ length: 64 }, (_, i) => Uint8Array.from({ length: 64 }, (_, j) => (i * 7 + j) & 0xff));
    const outputs = await Promise.all(inputs.map((input) => invoke(channel, 'reverse', input)));
    expect(outputs).toEqual(inputs.map((input) => Uint8Array.from(input).reverse()));
    const large = Uint8Array.from({ length: 1024 * 1024 }, (_, i) => i & 0xff);
    expect(sameBytes(await invoke(channel, 'echo', large), large)).toBe(true);
    await listener.close();
    // The child closes its kernel when the channel closes and must then exit on its own: nothing leaked.
    expect(await exited).toEqual([0, null]);
  });

  it('rejects pending requests with ChannelClosed as soon as the peer process vanishes', async () => {
    const { channel, child, listener } = await childOver(transport, 'json');
    const pending = Array.from({ length: 5 }, () =>
      invoke(channel, 'hang', new Uint8Array(0), { timeoutMs: 15_000 }).then(
        () => 'answered',
        (error: unknown) => error,
      ),
    );
    // Frames arrive in order: once this answer is back, the child holds all five requests.
    expect(await invoke(channel, 'echo', Uint8Array.of(1))).toEqual(Uint8Array.of(1));
    child.kill('SIGKILL');
    for (const outcome of await Promise.all(pending)) {
      expect(outcome).toMatchObject({ code: ErrorCode.ChannelClosed });
    }
    expect(channel.isConnected()).toBe(false);
    await listener.close();
  });
});
