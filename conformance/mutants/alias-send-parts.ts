import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: sendParts() resolves at once and joins and sends the caller's parts a turn later, so a change made after it resolved reaches the peer. */
class AliasSendPartsConnection extends ForwardingConnection {
  sendParts(parts: readonly Uint8Array[]): Promise<void> {
    setImmediate(() => void this.inner.send(Buffer.concat(parts)).catch(() => {}));
    return Promise.resolve();
  }
}

@Transport({ name: 'mutant-alias-send-parts', schemes: ['mutant-alias-send-parts'] })
export class AliasSendPartsTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-alias-send-parts';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new AliasSendPartsConnection(connection);
  }
}

export const conformance = mutantHints('mutant-alias-send-parts');
