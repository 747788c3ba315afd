import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: send() resolves at once whatever the peer does (fire-and-forget writes into an unbounded queue). */
class EagerConnection extends ForwardingConnection {
  override send(frame: Uint8Array): Promise<void> {
    super.send(frame).catch(() => {});
    return Promise.resolve();
  }
}

@Transport({ name: 'mutant-no-backpressure', schemes: ['mutant-no-backpressure'] })
export class NoBackpressureTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-no-backpressure';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new EagerConnection(connection);
  }
}

export const conformance = mutantHints('mutant-no-backpressure');
