import { ErrorCode, ExecutionErrorCode, invoke, Messages, type ExecutionRequest, type RuntimeMessage } from 'spear-comm';
import { check, checkEqual, expectRejection, fail } from '../assert.js';
import { describeDifference, pattern, tagged, tagOf } from '../bytes.js';
import type { ConformanceCase } from '../case.js';

const IN_FLIGHT = 1_000;

/** A permutation of 0..n-1 that is far from both the sending order and its reverse. */
function scrambled(n: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = (i * 7919 + 13) % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

function answerFor(request: ExecutionRequest): Uint8Array {
  return Uint8Array.from(request.input).reverse();
}

export const requestResponseCases: ConformanceCase[] = [
  {
    category: 'request-response',
    name: '1,000 requests in flight at once, answered out of order, each get their own answer',
    async run(ctx) {
      const { client, server } = await ctx.channelPair();
      const calls = Array.from({ length: IN_FLIGHT }, (_, i) =>
        client.request(
          Messages.executionRequest({ requestId: '', functionName: 'work', input: tagged(i, 8 + (i % 300)), timeoutMs: ctx.waitMs }),
          { timeoutMs: ctx.waitMs * 2 },
        ),
      );
      // The server holds every request before answering any, then answers in a scrambled order.
      const held: ExecutionRequest[] = [];
      while (held.length < IN_FLIGHT) {
        const m = await server.receive({ timeoutMs: ctx.waitMs });
        if (m.type !== 'ExecutionRequest') fail(`the server received a ${m.type} among the requests`);
        held.push(m);
      }
      await Promise.all(
        scrambled(IN_FLIGHT).map((i) => {
          const request = held[i]!;
          return server.send(
            Messages.executionResponse({ requestId: request.requestId, success: true, output: answerFor(request), durationMs: 0 }),
          );
        }),
      );
      const answers = await Promise.all(calls);
      answers.forEach((answer: RuntimeMessage, i) => {
        if (answer.type !== 'ExecutionResponse') fail(`request #${i} was answered with ${answer.type}`);
        const expected = Uint8Array.from(tagged(i, 8 + (i % 300))).reverse();
        const difference = describeDifference(answer.output, expected);
        if (difference)
          fail(
            `request #${i} got the wrong answer (${difference}); it belongs to request #${tagOf(Uint8Array.from(answer.output).reverse())}`,
          );
      });
      checkEqual(client.stats().requests, IN_FLIGHT, 'client stats().requests');
      checkEqual(client.stats().pendingRequests, 0, 'client stats().pendingRequests after every answer');
      check(
        client.stats().latencyMs.count === IN_FLIGHT,
        `stats().latencyMs.count is ${client.stats().latencyMs.count}, expected ${IN_FLIGHT}`,
      );
    },
  },
  {
    category: 'request-response',
    name: 'a failing remote handler fails the call with RemoteError (its code and message), and the channel keeps working',
    async run(ctx) {
      const { client } = await ctx.channelPair({
        handlers: {
          throws: () => {
            throw Object.assign(new Error('the disk is on fire'), { code: 'E_FIRE' });
          },
          rejects: async () => {
            throw new Error('async failure');
          },
          echo: (input) => input,
        },
      });
      const thrown = await expectRejection(
        invoke(client, 'throws', new Uint8Array([1]), { timeoutMs: ctx.waitMs }),
        ErrorCode.RemoteError,
        'invoke() of a throwing handler',
      );
      checkEqual(thrown.remoteCode, 'E_FIRE', 'remoteCode of the RemoteError');
      check(
        thrown.message.includes('the disk is on fire'),
        `the RemoteError message does not carry the handler's message: ${thrown.message}`,
      );
      const rejected = await expectRejection(
        invoke(client, 'rejects', new Uint8Array([1]), { timeoutMs: ctx.waitMs }),
        ErrorCode.RemoteError,
        'invoke() of a rejecting handler',
      );
      checkEqual(rejected.remoteCode, ExecutionErrorCode.HandlerError, 'remoteCode for a handler that threw a plain Error');
      check(client.isConnected(), 'a remote handler error closed the channel');
      const echoed = await invoke(client, 'echo', pattern(1000, 1), { timeoutMs: ctx.waitMs });
      check(describeDifference(echoed, pattern(1000, 1)) === undefined, 'the call after the remote errors got a wrong answer');
    },
  },
  {
    category: 'request-response',
    name: 'an unknown function fails with RemoteError UnknownFunction naming what is served',
    async run(ctx) {
      const { client } = await ctx.channelPair({ handlers: { known: (input) => input } });
      const error = await expectRejection(
        invoke(client, 'no-such-function', new Uint8Array(0), { timeoutMs: ctx.waitMs }),
        ErrorCode.RemoteError,
        'invoke() of an unknown function',
      );
      checkEqual(error.remoteCode, ExecutionErrorCode.UnknownFunction, 'remoteCode');
      check(
        error.message.includes('no-such-function') && error.message.includes('known'),
        `the message should name the missing function and the served ones: ${error.message}`,
      );
      check(client.isConnected(), 'calling an unknown function closed the channel');
    },
  },
  {
    category: 'request-response',
    name: 'both sides call each other at the same time on one channel',
    async run(ctx) {
      const reverse = (input: Uint8Array) => Uint8Array.from(input).reverse();
      const { client, server } = await ctx.channelPair({ handlers: { onServer: reverse } }, { handlers: { onClient: reverse } });
      const calls = (from: typeof client, fn: string, seed: number) =>
        Array.from({ length: 200 }, async (_, i) => {
          const input = pattern(1 + ((i * 37) % 5000), seed + i);
          const output = await invoke(from, fn, input, { timeoutMs: ctx.waitMs * 2 });
          const difference = describeDifference(output, reverse(input));
          if (difference) fail(`call #${i} of ${fn} got a wrong answer: ${difference}`);
        });
      await Promise.all([...calls(client, 'onServer', 1), ...calls(server, 'onClient', 10_000)]);
      checkEqual(client.stats().requests, 200, 'client stats().requests');
      checkEqual(server.stats().requests, 200, 'server stats().requests');
    },
  },
  {
    category: 'request-response',
    name: 'answers go to request(), other messages to receive(), even when they interleave',
    requires: (caps) => (caps.ordered ? undefined : 'checks receive() order; the transport does not promise ordered delivery'),
    async run(ctx) {
      const { client, server } = await ctx.channelPair();
      const calls = Array.from({ length: 100 }, (_, i) =>
        client.request(Messages.executionRequest({ functionName: 'f', input: tagged(i, 4), timeoutMs: ctx.waitMs }), {
          timeoutMs: ctx.waitMs * 2,
        }),
      );
      const pushed: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        const m = await server.receive({ timeoutMs: ctx.waitMs });
        if (m.type !== 'ExecutionRequest') fail(`the server received ${m.type}`);
        pushed.push(server.send(Messages.executionRequest({ functionName: `pushed-${i}`, input: new Uint8Array(0), timeoutMs: 0 })));
        pushed.push(server.send(Messages.executionResponse({ requestId: m.requestId, success: true, output: m.input, durationMs: 0 })));
      }
      await Promise.all(pushed);
      const answers = await Promise.all(calls);
      answers.forEach((a, i) =>
        check(
          a.type === 'ExecutionResponse' && tagOf(a.output) === i,
          `request #${i} got ${a.type} ${a.type === 'ExecutionResponse' ? `for #${tagOf(a.output)}` : ''}`,
        ),
      );
      for (let i = 0; i < 100; i++) {
        const m = await client.receive({ timeoutMs: ctx.waitMs });
        check(
          m.type === 'ExecutionRequest' && m.functionName === `pushed-${i}`,
          `receive() #${i} returned ${m.type}${m.type === 'ExecutionRequest' ? ` "${m.functionName}"` : ''}; expected "pushed-${i}"`,
        );
      }
    },
  },
];
