import { ErrorCode, Messages, type CommunicationChannel, type RuntimeMessage } from 'spear-comm';
import { check, checkEqual, checkNearLimit, expectRejection, within } from '../assert.js';
import type { ConformanceCase } from '../case.js';

const LIMIT_MS = 150;

function request(name: string, input = new Uint8Array([1, 2, 3])) {
  return Messages.executionRequest({ functionName: name, input, timeoutMs: LIMIT_MS });
}

/** Resolves with the next message of `type` that arrives on the channel (responses included). */
function nextMessage(channel: CommunicationChannel, matches: (m: RuntimeMessage) => boolean): Promise<RuntimeMessage> {
  return new Promise((resolve) => {
    const off = channel.on('message', (m) => {
      if (!matches(m)) return;
      off();
      resolve(m);
    });
  });
}

export const timeoutCases: ConformanceCase[] = [
  {
    category: 'timeout',
    name: 'request() with no answer fails with Timeout near its limit, and the channel stays usable',
    async run(ctx) {
      // No handlers on the server: the request waits in its receive queue and is never answered.
      const { client, server } = await ctx.channelPair();
      const started = performance.now();
      await expectRejection(
        client.request(request('never-answered'), { timeoutMs: LIMIT_MS }),
        ErrorCode.Timeout,
        'request() with no answer',
        LIMIT_MS + 5_000,
      );
      checkNearLimit(performance.now() - started, LIMIT_MS, 'request() timed out');
      checkEqual(client.stats().timeouts, 1, 'client stats().timeouts after one timed-out request');
      const arrived = await server.receive({ timeoutMs: ctx.waitMs });
      checkEqual(arrived.type, 'ExecutionRequest', 'what the server received');
      check(client.isConnected(), 'a timed-out request closed the channel; only the request should fail');
      await client.send(request('after-timeout'));
      const next = await server.receive({ timeoutMs: ctx.waitMs });
      check(
        next.type === 'ExecutionRequest' && next.functionName === 'after-timeout',
        `the next message the server received is ${next.type}; expected the "after-timeout" request`,
      );
    },
  },
  {
    category: 'timeout',
    name: 'receive() with nothing to receive fails with Timeout near its limit, and the next message still arrives',
    async run(ctx) {
      const { client, server } = await ctx.channelPair();
      const started = performance.now();
      await expectRejection(client.receive({ timeoutMs: LIMIT_MS }), ErrorCode.Timeout, 'receive() with nothing sent', LIMIT_MS + 5_000);
      checkNearLimit(performance.now() - started, LIMIT_MS, 'receive() timed out');
      check(client.isConnected(), 'a timed-out receive() closed the channel');
      await server.send(request('pushed'));
      const message = await client.receive({ timeoutMs: ctx.waitMs });
      checkEqual(message.type, 'ExecutionRequest', 'the message received after the timeout');
    },
  },
  {
    category: 'timeout',
    name: 'a late answer after a timeout is dropped without harm',
    async run(ctx) {
      const { client, server } = await ctx.channelPair();
      const late = request('slow');
      await expectRejection(
        client.request(late, { timeoutMs: LIMIT_MS }),
        ErrorCode.Timeout,
        'request() the server answers too late',
        LIMIT_MS + 5_000,
      );
      const seen = await server.receive({ timeoutMs: ctx.waitMs });
      // Now answer it, too late; then push a message the client should receive normally.
      const arrivedLate = nextMessage(client, (m) => m.type === 'ExecutionResponse' && m.requestId === seen.requestId);
      await server.send(
        Messages.executionResponse({ requestId: seen.requestId, success: true, output: new Uint8Array([9]), durationMs: 1 }),
      );
      await within(arrivedLate, ctx.waitMs, 'the late answer to reach the client');
      await server.send(request('after-late-answer'));
      const next = await client.receive({ timeoutMs: ctx.waitMs });
      check(
        next.type === 'ExecutionRequest' && next.functionName === 'after-late-answer',
        `receive() returned ${next.type} ${next.requestId}; the late answer must not be handed to receive()`,
      );
      checkEqual(client.stats().lateResponses, 1, 'client stats().lateResponses');
      check(client.isConnected(), 'the late answer closed the channel');
      // A fresh request on the same channel is answered normally.
      const fresh = client.request(request('fresh'), { timeoutMs: ctx.waitMs });
      const freshSeen = await server.receive({ timeoutMs: ctx.waitMs });
      await server.send(
        Messages.executionResponse({ requestId: freshSeen.requestId, success: true, output: new Uint8Array([1]), durationMs: 1 }),
      );
      const answer = await fresh;
      checkEqual(answer.requestId, freshSeen.requestId, 'requestId of the answer to the fresh request');
    },
  },
  {
    category: 'timeout',
    name: 'connecting to an address where nothing listens fails promptly (not after the connect timeout)',
    async run(ctx) {
      const dead = await ctx.deadAddress();
      const started = performance.now();
      const timeoutMs = 15_000;
      // "Promptly": a refused connection fails at once; only a transport that waits out its timeout comes near this.
      const promptMs = 3_000;
      const error = await expectRejection(
        ctx.connect(dead, { timeoutMs }),
        ErrorCode.ConnectionRefused,
        `connect(${dead}) with nothing listening (connect timeout ${timeoutMs} ms)`,
        promptMs,
      );
      const elapsed = performance.now() - started;
      ctx.note(`dead address refused after ${elapsed.toFixed(0)} ms with ${error.code}`);
    },
  },
  {
    category: 'timeout',
    name: 'connect() to a listener that never answers the handshake fails with Timeout near timeoutMs',
    async run(ctx) {
      // A raw listener accepts the connection but never sends an AuthResponse.
      const silent = await ctx.rawListen();
      const started = performance.now();
      await expectRejection(
        ctx.connect(silent.url, { timeoutMs: LIMIT_MS * 2 }),
        ErrorCode.Timeout,
        'connect() to a silent listener',
        LIMIT_MS * 2 + 5_000,
      );
      checkNearLimit(performance.now() - started, LIMIT_MS * 2, 'connect() timed out');
      const accepted = await silent.accepted();
      await accepted.sink.waitClose(ctx.waitMs, 'the silent listener to see the timed-out client close its connection');
    },
  },
];
