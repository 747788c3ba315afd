import { invoke, type CommunicationChannel, type ExecutionRequest } from 'spear-comm';
import type { Peer } from './peer.js';

/** Names the bench server serves; the sink listener consumes `sink` requests without answering. */
export const ECHO_FUNCTION = 'echo';
export const SINK_FUNCTION = 'sink';

/**
 * A spear-comm channel as a Peer: a round trip is a full `invoke()` (ExecutionRequest -> served
 * handler -> ExecutionResponse), a one-way message an ExecutionRequest nobody answers, and
 * `sync()` a HealthCheck, which the far channel answers after everything sent before it.
 */
export class ChannelPeer implements Peer {
  constructor(private readonly channel: CommunicationChannel) {}

  roundTrip(payload: Uint8Array): Promise<void> {
    return invoke(this.channel, ECHO_FUNCTION, payload).then((output) => {
      if (output.byteLength !== payload.byteLength)
        throw new Error(`echo of ${payload.byteLength} bytes came back as ${output.byteLength} bytes`);
    });
  }

  send(payload: Uint8Array): Promise<void> {
    const message: ExecutionRequest = {
      type: 'ExecutionRequest',
      requestId: 'oneway',
      timestamp: Date.now(),
      metadata: {},
      functionName: SINK_FUNCTION,
      input: payload,
      timeoutMs: 0,
    };
    return this.channel.send(message);
  }

  async sync(): Promise<void> {
    const answer = await this.channel.request({ type: 'HealthCheck', requestId: '', timestamp: Date.now(), metadata: {} });
    if (answer.type !== 'HealthCheck') throw new Error(`expected a HealthCheck answer, got ${answer.type}`);
  }

  close(): Promise<void> {
    return this.channel.close();
  }
}
