import {
  Client,
  Metadata,
  ServerInterceptingCall,
  credentials,
  status as Status,
  type ServerInterceptor,
  type ClientDuplexStream,
  type StatusObject,
} from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ErrorCode, type FrameConnection } from 'spear-comm';
import { describeNetworkTransport } from '../../test/support/network-transport-suite.js';
import { trackCleanups } from '../../test/support/cleanups.js';
import { Arrivals } from '../../conformance/arrivals.js';
import { CONNECT_PATH, deserializeFrame, serializeFrame } from './frame-message.js';

describeNetworkTransport('grpc', 'grpc://127.0.0.1:0');

const { defer, kernel } = trackCleanups();

/** A grpc listener at transport level: each accepted FrameConnection's frames and close reason. */
async function rawListener(maxFrameSize: number, extra?: Record<string, unknown>) {
  const k = await kernel();
  const frames = new Arrivals<Uint8Array>();
  const closes = new Arrivals<Error | undefined>();
  const listener = await k.transport('grpc').listen(new URL('grpc://127.0.0.1:0'), {
    maxFrameSize,
    ...(extra ? { extra } : {}),
    onConnection: (connection: FrameConnection) => connection.start({ onFrame: (f) => frames.push(f), onClose: (e) => closes.push(e) }),
  });
  defer(() => listener.close());
  return { url: listener.url, frames, closes };
}

/** A bare grpc-js client on the Connect method, with no spear-comm limits of its own; `serialize` may send anything. */
function rawCall(
  url: string,
  serialize = serializeFrame,
): { call: ClientDuplexStream<Uint8Array, Uint8Array>; status: Promise<StatusObject> } {
  const client = new Client(new URL(url).host, credentials.createInsecure());
  defer(() => client.close());
  const call = client.makeBidiStreamRequest(CONNECT_PATH, serialize, deserializeFrame, new Metadata());
  call.on('error', () => {});
  return { call, status: new Promise((resolve) => call.on('status', resolve)) };
}

describe('grpc listener frame limit', () => {
  it('closes the server-side connection with FrameTooLarge, naming the limit, when a client sends maxFrameSize + 1 bytes', async () => {
    const { url, frames, closes } = await rawListener(4096);
    const { call, status } = rawCall(url);
    call.write(new Uint8Array(4096).fill(7));
    expect((await frames.next()).byteLength).toBe(4096);
    call.write(new Uint8Array(4097));
    const reason = await closes.next();
    expect(reason).toMatchObject({ code: ErrorCode.FrameTooLarge, message: expect.stringMatching(/maxFrameSize of 4096 bytes/) });
    expect((await status).details).toMatch(/larger than max/);
  });

  it('keeps interceptors passed in extra.channelOptions, and still reports FrameTooLarge', async () => {
    const seen: string[] = [];
    const interceptor: ServerInterceptor = (method, call) => {
      seen.push(method.path);
      return new ServerInterceptingCall(call);
    };
    const { url, closes } = await rawListener(4096, { channelOptions: { interceptors: [interceptor] } });
    rawCall(url).call.write(new Uint8Array(5000));
    expect(await closes.next()).toMatchObject({ code: ErrorCode.FrameTooLarge });
    expect(seen).toEqual([CONNECT_PATH]);
  });

  it('does not call a message grpc-js refuses for another reason FrameTooLarge', async () => {
    const { url, frames, closes } = await rawListener(4096);
    const { call, status } = rawCall(url, (bytes) => Buffer.from(bytes));
    call.write(serializeFrame(new Uint8Array([1, 2, 3])));
    await frames.next();
    call.write(new Uint8Array([0x00])); // field number 0: not a spear.v1.Frame, and well under the limit
    expect(await closes.next()).toMatchObject({ code: ErrorCode.ChannelClosed });
    expect((await status).code).toBe(Status.INTERNAL);
  });
});
