import { CommunicationError, ErrorCode, invoke, Messages } from 'spear-comm';
import { check, checkEqual, expectRejection, show, within } from '../assert.js';
import { tagged } from '../bytes.js';
import type { ConformanceCase } from '../case.js';
import { closed } from './channels.js';
import { expectFrames, sendAll } from './frames.js';

/** Marks a promise as handled now (its rejection is checked later), so an early rejection is not reported as unhandled. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

const request = (name: string) => Messages.executionRequest({ functionName: name, input: new Uint8Array([1]), timeoutMs: 60_000 });

export const lifecycleCases: ConformanceCase[] = [
  {
    category: 'lifecycle',
    name: 'isConnected() follows a channel through local and remote close, on both sides',
    async run(ctx) {
      const first = await ctx.channelPair();
      check(first.client.isConnected() && first.server.isConnected(), 'a freshly connected channel pair reports isConnected() false');
      await within(first.client.close(), ctx.closeMs, 'channel.close()');
      check(!first.client.isConnected(), 'isConnected() is still true after close() resolved');
      const reason = await closed(first.server, ctx.waitMs, 'the server-side channel to close after the client closed');
      check(!first.server.isConnected(), 'the server side still reports isConnected() after its close event');
      check(
        reason === undefined || CommunicationError.is(reason, ErrorCode.ChannelClosed),
        `the server side closed with ${show(reason)}; an orderly close by the peer should be ChannelClosed`,
      );

      const second = await ctx.channelPair();
      await within(second.server.close(), ctx.closeMs, 'server-side channel.close()');
      const clientReason = await closed(second.client, ctx.waitMs, 'the client to close after the server closed its side');
      check(!second.client.isConnected(), 'the client still reports isConnected() after the server closed');
      check(
        clientReason === undefined || CommunicationError.is(clientReason, ErrorCode.ChannelClosed),
        `the client closed with ${show(clientReason)}; expected ChannelClosed`,
      );
    },
  },
  {
    category: 'lifecycle',
    name: 'close() is idempotent and resolves promptly: connections, channels and listeners',
    async run(ctx) {
      const { listener, client, server } = await ctx.rawPair();
      const closes = [client.connection.close(), client.connection.close()];
      await within(Promise.all(closes), ctx.closeMs, 'FrameConnection.close() called twice at once');
      await within(client.connection.close(), ctx.closeMs, 'FrameConnection.close() called again after it resolved');
      const error = await server.sink.waitClose(ctx.waitMs, 'the peer to report the close');
      check(
        error === undefined,
        `an orderly close() was reported to the peer as an error: ${show(error)}; onClose(error) is for connections that failed`,
      );
      await within(server.connection.close(), ctx.closeMs, 'FrameConnection.close() on a connection the peer already closed');
      await within(Promise.all([listener.close(), listener.close()]), ctx.closeMs, 'FrameListener.close() called twice');
      await within(listener.close(), ctx.closeMs, 'FrameListener.close() called again after it resolved');

      const pair = await ctx.channelPair();
      await within(Promise.all([pair.client.close(), pair.client.close()]), ctx.closeMs, 'channel.close() called twice');
      await within(pair.client.close(), ctx.closeMs, 'channel.close() called again');
      await within(Promise.all([pair.listener.close(), pair.listener.close()]), ctx.closeMs, 'Listener.close() called twice');
    },
  },
  {
    category: 'lifecycle',
    name: 'frames whose send() resolved are delivered before the peer sees the close',
    requires: (caps) => (caps.reliable ? undefined : 'the transport does not promise delivery (capabilities.reliable is false)'),
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      const frames = Array.from({ length: 50 }, (_, i) => tagged(i, 1000));
      await sendAll(client, frames);
      await within(client.connection.close(), ctx.closeMs, 'FrameConnection.close()');
      await expectFrames(ctx, server, frames, { what: 'frames sent just before close()' }).catch((err: Error) => {
        throw new Error(`${err.message} (frames accepted by send() were lost when the sender closed)`);
      });
      await server.sink.waitClose(ctx.waitMs, 'the peer to report the close after the last frame');
    },
  },
  {
    category: 'lifecycle',
    name: 'pending request() and receive() are rejected with ChannelClosed on local and on remote close',
    async run(ctx) {
      const local = await ctx.channelPair();
      const pendingRequest = handled(local.client.request(request('never'), { timeoutMs: 60_000 }));
      const pendingReceive = handled(local.client.receive({ timeoutMs: 60_000 }));
      await local.server.receive({ timeoutMs: ctx.waitMs });
      await within(local.client.close(), ctx.closeMs, 'channel.close()');
      await expectRejection(pendingRequest, ErrorCode.ChannelClosed, 'a pending request() when the channel closed locally');
      await expectRejection(pendingReceive, ErrorCode.ChannelClosed, 'a pending receive() when the channel closed locally');
      checkEqual(local.client.stats().pendingRequests, 0, 'stats().pendingRequests after close');

      const remote = await ctx.channelPair();
      const remoteRequest = handled(remote.client.request(request('never'), { timeoutMs: 60_000 }));
      const remoteReceive = handled(remote.client.receive({ timeoutMs: 60_000 }));
      await remote.server.receive({ timeoutMs: ctx.waitMs });
      await within(remote.server.close(), ctx.closeMs, 'server-side channel.close()');
      // The peer's close must reach the client; waiting out the 60 s request timeout is the bug this catches.
      await expectRejection(remoteRequest, ErrorCode.ChannelClosed, 'a pending request() when the peer closed', ctx.waitMs);
      await expectRejection(remoteReceive, ErrorCode.ChannelClosed, 'a pending receive() when the peer closed', ctx.waitMs);
    },
  },
  {
    category: 'lifecycle',
    name: 'send() after close is rejected with ChannelClosed, on the closed side and on its peer',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      await within(client.connection.close(), ctx.closeMs, 'FrameConnection.close()');
      await expectRejection(client.connection.send(new Uint8Array([1])), ErrorCode.ChannelClosed, 'FrameConnection.send() after close()');
      await server.sink.waitClose(ctx.waitMs, 'the peer to report the close');
      await expectRejection(
        server.connection.send(new Uint8Array([1])),
        ErrorCode.ChannelClosed,
        'FrameConnection.send() after the peer closed',
      );

      const pair = await ctx.channelPair();
      await within(pair.client.close(), ctx.closeMs, 'channel.close()');
      await expectRejection(pair.client.send(Messages.ack()), ErrorCode.ChannelClosed, 'channel.send() after close()');
      await expectRejection(pair.client.request(request('x')), ErrorCode.ChannelClosed, 'channel.request() after close()');
      await closed(pair.server, ctx.waitMs, 'the server side to close');
      await expectRejection(pair.server.send(Messages.ack()), ErrorCode.ChannelClosed, 'channel.send() after the peer closed');
    },
  },
  {
    category: 'lifecycle',
    name: 'closing a listener closes its connections, refuses new clients and releases the address',
    async run(ctx) {
      const raw = await ctx.rawListen();
      const rawClient = await ctx.rawConnect(raw.url);
      await raw.accepted();
      await within(raw.close(), ctx.closeMs, 'FrameListener.close() with a connection open');
      await rawClient.sink.waitClose(ctx.waitMs, 'a raw client to see its listener close');

      const { listener, client } = await ctx.channelPair({ handlers: { ping: (i) => i } });
      await within(listener.close(), ctx.closeMs, 'Listener.close() with a channel open');
      await closed(client, ctx.waitMs, 'the client to close when its listener closed');
      await expectRejection(
        ctx.connect(listener.url, { timeoutMs: 5_000 }),
        ErrorCode.ConnectionRefused,
        `connect(${listener.url}) after the listener closed`,
        8_000,
      );
      // The address is free again: a new listener can take it and serve.
      const again = await ctx.listen({ address: listener.url, handlers: { ping: (i) => i } }).catch((err: unknown) => {
        throw new Error(`listening again on ${listener.url} after close failed (the address was not released): ${show(err)}`);
      });
      const fresh = await ctx.connect(again.url);
      await within(
        invoke(fresh, 'ping', new Uint8Array([1]), { timeoutMs: ctx.waitMs }),
        ctx.waitMs,
        'a call to the new listener on the released address',
      );
    },
  },
  {
    category: 'lifecycle',
    name: "a listener reports its real URL: the transport's scheme, a real port for port 0, reachable as given",
    async run(ctx) {
      const requested = ctx.address();
      const listener = await ctx.listen({ address: requested, handlers: { ping: (i) => i } });
      const url = new URL(listener.url);
      const scheme = url.protocol.slice(0, -1);
      check(
        ctx.target.schemes.includes(scheme),
        `listener.url ${listener.url} has scheme "${scheme}:", which is not one of the transport's (${ctx.target.schemes.join(', ')})`,
      );
      const asked = new URL(requested);
      if (asked.port === '0')
        check(
          url.port !== '' && url.port !== '0',
          `listening on ${requested} reported ${listener.url}; it must report the port actually bound`,
        );
      const client = await ctx.connect(listener.url);
      await within(invoke(client, 'ping', new Uint8Array([1]), { timeoutMs: ctx.waitMs }), ctx.waitMs, `a call through ${listener.url}`);
    },
  },
];
