import { afterEach, describe, expect, it } from 'vitest';
import { type CommunicationError, ErrorCode, createKernel, invoke, type CommunicationChannel, type Kernel } from 'spear-comm';
import { CODECS, fromHex, readFixture } from './test-support/codecs.js';
import { authRequestFrame, connectRaw, parseJsonFrame } from './test-support/raw-client.js';

const kernels: Kernel[] = [];
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.close()));
});

/** Frames no codec can decode: half a golden vector, and bytes that are garbage in every format. */
function badFrames(codec: string): Array<[string, Uint8Array]> {
  const golden = readFixture('execution-request', codec);
  return [
    ['a truncated message', golden.subarray(0, golden.length >> 1)],
    ['deep nesting', fromHex(`${codec === 'protobuf' ? 'a301'.repeat(5_000) : '81'.repeat(5_000)}00`)],
    ['random bytes', fromHex('ff00fe01fd02fc03')],
  ];
}

describe.each(CODECS.map((c) => c.name))('%s channel receiving a frame it cannot decode', (codec) => {
  it.each(badFrames(codec))('%s: that channel closes with DecodeFailed, the others and the listener carry on', async (_what, frame) => {
    const kernel = await createKernel();
    kernels.push(kernel);
    const serverChannels: CommunicationChannel[] = [];
    const listener = await kernel.listen('memory://bad-frames', {
      handlers: { echo: (input) => input },
      onChannel: (c) => serverChannels.push(c),
    });
    const bystander = await kernel.connect(listener.url, { codec });

    const raw = await connectRaw(kernel, listener.url);
    await raw.send(authRequestFrame(codec));
    expect(parseJsonFrame(await raw.next())['success']).toBe(true);
    const victim = serverChannels[1]!;
    const closedWith = new Promise<CommunicationError | undefined>((resolve) => victim.on('close', resolve));
    const errors: CommunicationError[] = [];
    victim.on('error', (error) => errors.push(error));

    await raw.send(frame);
    const reason = await closedWith;
    expect(reason?.code).toBe(ErrorCode.DecodeFailed);
    expect(reason?.message).toMatch(new RegExp(`${codec} codec|Malformed RuntimeMessage`));
    expect(errors.map((e) => e.code)).toEqual([ErrorCode.DecodeFailed]);
    expect(victim.stats().errors).toBe(1);
    await raw.closed; // the server closed the connection: nothing is left half-open

    expect(await invoke(bystander, 'echo', new Uint8Array([1]))).toEqual(new Uint8Array([1]));
    const newcomer = await kernel.connect(listener.url, { codec });
    expect(await invoke(newcomer, 'echo', new Uint8Array([2]))).toEqual(new Uint8Array([2]));
    expect(listener.channels()).not.toContain(victim);
    expect(listener.channels()).toHaveLength(2);
  });
});
