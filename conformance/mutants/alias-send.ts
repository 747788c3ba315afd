import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: send() resolves at once and sends the caller's buffer one turn later, so a change made after send() resolved reaches the peer. */
class AliasSendConnection extends ForwardingConnection {
  override send(frame: Uint8Array): Promise<void> {
    setImmediate(() => void this.inner.send(frame).catch(() => {}));
    return Promise.resolve();
  }
}

@Transport({ name: 'mutant-alias-send', schemes: ['mutant-alias-send'] })
export class AliasSendTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-alias-send';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new AliasSendConnection(connection);
  }
}

export const conformance = mutantHints('mutant-alias-send');
