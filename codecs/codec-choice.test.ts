import { describe, expect, it } from 'vitest';
import { CommunicationError, ErrorCode, invoke, type CommunicationChannel } from 'spear-comm';
import { CODECS, readFixture, toHex } from './test-support/codecs.js';
import { authRequestFrame, connectRaw, parseJsonFrame } from './test-support/raw-client.js';
import { useKernels } from '../test/support.js';

const echo = { echo: (input: Uint8Array) => input };
const kernel = useKernels();

async function expectRefusal(promise: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(CommunicationError.is(error, code), String(error)).toBe(true);
  expect((error as Error).message).toMatch(pattern);
}

describe('codec chosen per channel at connect time (memory transport)', () => {
  it.each(CODECS.map((c) => c.name))('%s: both ends of the channel use it, and calls work', async (codec) => {
    const k = await kernel();
    const serverSide: CommunicationChannel[] = [];
    const listener = await k.listen('memory://codec-choice', { handlers: echo, onChannel: (channel) => serverSide.push(channel) });
    const channel = await k.connect(listener.url, { codec });
    const input = Uint8Array.from({ length: 3000 }, (_, i) => i & 0xff);
    expect(await invoke(channel, 'echo', input)).toEqual(input);
    expect(channel.codec).toBe(codec);
    expect(serverSide.map((c) => c.codec)).toEqual([codec]);
  });

  it('lets channels on one listener use different codecs at once', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://mixed', { handlers: echo });
    const channels = await Promise.all(CODECS.map((c) => k.connect(listener.url, { codec: c.name })));
    const answers = await Promise.all(channels.map((channel, i) => invoke(channel, 'echo', new Uint8Array([i]))));
    expect(answers).toEqual(CODECS.map((_, i) => new Uint8Array([i])));
    expect(
      listener
        .channels()
        .map((c) => c.codec)
        .sort(),
    ).toEqual(CODECS.map((c) => c.name).sort());
  });

  it.each(CODECS.map((c) => c.name))('%s: a client writing the golden vector bytes by hand gets the documented answer', async (codec) => {
    const k = await kernel();
    const listener = await k.listen('memory://by-hand', { handlers: echo, maxFrameSize: 65_536 });
    const raw = await connectRaw(k, listener.url);
    await raw.send(authRequestFrame(codec));
    const accepted = parseJsonFrame(await raw.next());
    expect(accepted).toMatchObject({ type: 'AuthResponse', requestId: 'auth-1', success: true, metadata: { maxFrameSize: '65536' } });
    expect(accepted['sessionId']).toMatch(/^[0-9a-f-]{36}$/);

    await raw.send(readFixture('execution-request', codec));
    const answer = CODECS.find((c) => c.name === codec)!.decode(await raw.next());
    expect(answer).toMatchObject({ type: 'ExecutionResponse', requestId: 'req-1', success: true, metadata: {} });
    expect(answer.type === 'ExecutionResponse' && toHex(answer.output)).toBe(toHex(new TextEncoder().encode('hi')));
    await raw.close();
  });
});

describe('codec negotiation in the handshake', () => {
  it('a listener restricted to cbor refuses a json client with AuthFailed naming what it accepts', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://cbor-only', { codec: ['cbor'], handlers: echo });
    const rejected: CommunicationError[] = [];
    listener.on('rejected', (error) => rejected.push(error));
    await expectRefusal(
      k.connect(listener.url, { codec: 'json' }),
      ErrorCode.AuthFailed,
      /codec "json" is not accepted here; use one of: cbor$/,
    );
    const channel = await k.connect(listener.url, { codec: 'cbor' });
    expect(await invoke(channel, 'echo', new Uint8Array([7]))).toEqual(new Uint8Array([7]));
    expect(rejected.map((e) => e.code)).toEqual([ErrorCode.AuthFailed]);
  });

  it('a single codec name works as the restriction too', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://protobuf-only', { codec: 'protobuf', handlers: echo });
    await expectRefusal(k.connect(listener.url, { codec: 'cbor' }), ErrorCode.AuthFailed, /use one of: protobuf$/);
    expect(await invoke(await k.connect(listener.url, { codec: 'protobuf' }), 'echo', new Uint8Array([1]))).toEqual(new Uint8Array([1]));
  });

  it('an unknown codec in the AuthRequest gets a JSON refusal naming the accepted codecs, then the connection closes', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://unknown-codec', { codec: ['json', 'cbor', 'protobuf'] });
    const raw = await connectRaw(k, listener.url);
    await raw.send(authRequestFrame('msgpack'));
    const refusal = parseJsonFrame(await raw.next());
    expect(refusal).toMatchObject({ type: 'AuthResponse', requestId: 'auth-1', success: false, sessionId: '' });
    expect(refusal['errorMessage']).toBe('codec "msgpack" is not accepted here; use one of: json, cbor, protobuf');
    await raw.closed;
    expect(listener.channels()).toEqual([]);
  });

  it('listening or connecting with a codec that is not installed fails before any connection, naming the installed ones', async () => {
    const k = await kernel();
    await expectRefusal(
      k.listen('memory://nope', { codec: ['cbor', 'msgpack'] }),
      ErrorCode.InvalidArgument,
      /No codec named "msgpack" is installed; installed: .*cbor/,
    );
    const listener = await k.listen('memory://there');
    await expectRefusal(k.connect(listener.url, { codec: 'msgpack' }), ErrorCode.InvalidArgument, /No codec named "msgpack".*protobuf/);
  });

  it('the handshake itself is JSON whatever the codec: a CBOR AuthRequest is refused', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://json-handshake');
    const rejected: CommunicationError[] = [];
    listener.on('rejected', (error) => rejected.push(error));
    const raw = await connectRaw(k, listener.url);
    await raw.send(readFixture('auth-request', 'cbor'));
    await raw.closed;
    expect(rejected.map((e) => e.code)).toEqual([ErrorCode.DecodeFailed]);
    expect(rejected[0]!.message).toMatch(/first frame of a session must be a JSON AuthRequest/);
  });

  it('a connection that does not authenticate within the auth timeout is closed', async () => {
    const k = await kernel();
    const listener = await k.listen('memory://slow', { authTimeoutMs: 100 });
    const rejected: CommunicationError[] = [];
    listener.on('rejected', (error) => rejected.push(error));
    const raw = await connectRaw(k, listener.url);
    await raw.closed;
    expect(rejected.map((e) => e.code)).toEqual([ErrorCode.AuthFailed]);
    expect(rejected[0]!.message).toMatch(/did not complete the handshake within 100 ms/);
  });
});
