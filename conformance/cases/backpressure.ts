import { Messages } from 'spear-comm';
import { check, fail, outcomeWithin, show, within, type Outcome } from '../assert.js';
import { tagged } from '../bytes.js';
import type { RawEnd } from '../collector.js';
import type { CaseContext } from '../context.js';
import type { ConformanceCase } from '../case.js';
import { expectFrames } from './frames.js';

/** More than any sane socket, pipe or stream buffer holds: accepting this much from a stalled reader is unbounded buffering. */
const BOUND_BYTES = 64 * 1024 * 1024;
/**
 * A send() still pending after this long is taken as "waiting for the reader". A slow machine can
 * only make a correct transport look blocked early (the case then checks that everything flows
 * once the reader resumes); a transport that never waits is caught by BOUND_BYTES, not by time.
 */
const STALL_MS = 150;
const FRAME_BYTES = 64 * 1024;

interface Filled {
  sent: Uint8Array[];
  acceptedBytes: number;
  /** The send that did not resolve. */
  waiting: Promise<void>;
}

/** Sends frames one after another until a send() waits; fails if BOUND_BYTES are accepted first. */
async function fillUntilBlocked(ctx: CaseContext, sender: RawEnd, what: string): Promise<Filled> {
  const size = Math.min(FRAME_BYTES, ctx.caps.maxFrameSize, ctx.defaultMaxFrameSize);
  const sent: Uint8Array[] = [];
  let acceptedBytes = 0;
  for (let i = 0; ; i++) {
    const frame = tagged(i, size);
    sent.push(frame);
    const waiting = sender.connection.send(frame);
    const outcome: Outcome<void> = await outcomeWithin(waiting, STALL_MS);
    if (outcome.state === 'pending') return { sent, acceptedBytes, waiting };
    if (outcome.state === 'rejected')
      fail(`${what}: send() of frame #${i} rejected while the reader was only paused: ${show(outcome.error)}`);
    acceptedBytes += size;
    if (acceptedBytes >= BOUND_BYTES) {
      fail(
        `${what}: send() kept resolving with the reader paused: ${(acceptedBytes / 1048576).toFixed(0)} MiB accepted and buffered. send() must wait once the OS or peer stops accepting, or the sender's memory grows without bound`,
      );
    }
  }
}

export const backpressureCases: ConformanceCase[] = [
  {
    category: 'backpressure',
    name: 'a paused reader makes send() wait instead of buffering without bound, and everything flows on resume',
    async run(ctx) {
      const { client, server } = await ctx.rawPair();
      server.connection.pause();
      const { sent, acceptedBytes, waiting } = await fillUntilBlocked(ctx, client, 'frame level');
      ctx.note(`send() started waiting after ${(acceptedBytes / 1024).toFixed(0)} KiB with the reader paused`);
      check(
        server.sink.frames.length === 0,
        `${server.sink.frames.length} frame(s) were delivered to a paused connection; pause() must stop delivery`,
      );
      server.connection.resume();
      await within(waiting, ctx.waitMs, 'the waiting send() to resolve after the reader resumed');
      await expectFrames(ctx, server, sent, { what: 'frames sent while the reader was paused' });
    },
  },
  {
    category: 'backpressure',
    name: "a channel whose owner does not receive() slows its peer's send() down, and loses nothing",
    async run(ctx) {
      const { client, server } = await ctx.channelPair({ receiveQueueLimit: 8 });
      const input = new Uint8Array(Math.min(FRAME_BYTES, ctx.defaultMaxFrameSize / 2));
      let sent = 0;
      let waiting: Promise<void> | undefined;
      while (!waiting) {
        const send = client.send(Messages.executionRequest({ functionName: `m${sent}`, input, timeoutMs: 0 }));
        sent++;
        const outcome = await outcomeWithin(send, STALL_MS);
        if (outcome.state === 'pending') waiting = send;
        else if (outcome.state === 'rejected')
          fail(`channel.send() #${sent - 1} rejected while the peer was only slow: ${show(outcome.error)}`);
        else if (client.stats().bytesOut >= BOUND_BYTES) {
          fail(
            `channel.send() kept resolving while the peer did not read: ${(client.stats().bytesOut / 1048576).toFixed(0)} MiB accepted. The transport must make send() wait once the peer stops reading`,
          );
        }
      }
      ctx.note(`channel.send() started waiting after ${sent} messages (${(client.stats().bytesOut / 1024).toFixed(0)} KiB)`);
      for (let i = 0; i < sent; i++) {
        const m = await server.receive({ timeoutMs: ctx.waitMs });
        check(
          m.type === 'ExecutionRequest' && m.functionName === `m${i}`,
          `message #${i} after the slow reader caught up is ${m.type === 'ExecutionRequest' ? `"${m.functionName}"` : m.type}`,
        );
      }
      await within(waiting, ctx.waitMs, 'the waiting channel.send() to resolve once the reader caught up');
    },
  },
  {
    category: 'backpressure',
    name: 'a send() waiting on a paused reader settles when either side closes',
    async run(ctx) {
      for (const closer of ['sender', 'reader'] as const) {
        const { client, server } = await ctx.rawPair();
        server.connection.pause();
        const { waiting } = await fillUntilBlocked(ctx, client, `${closer} closes`);
        await (closer === 'sender' ? client.connection.close() : server.connection.close());
        const outcome = await outcomeWithin(waiting, ctx.waitMs);
        check(
          outcome.state !== 'pending',
          `a send() waiting for a paused reader was still pending ${ctx.waitMs} ms after the ${closer} closed the connection; it must settle`,
        );
        ctx.note(`${closer} closed: the waiting send() ${outcome.state}`);
      }
    },
  },
];
