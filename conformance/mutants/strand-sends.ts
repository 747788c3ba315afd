import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: a send() that the close cuts off never settles (its rejection is swallowed). */
class StrandSendsConnection extends ForwardingConnection {
  override send(frame: Uint8Array): Promise<void> {
    return new Promise<void>((resolve) => {
      this.inner.send(frame).then(resolve, () => {});
    });
  }
}

@Transport({ name: 'mutant-strand-sends', schemes: ['mutant-strand-sends'] })
export class StrandSendsTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-strand-sends';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new StrandSendsConnection(connection);
  }
}

export const conformance = mutantHints('mutant-strand-sends');
