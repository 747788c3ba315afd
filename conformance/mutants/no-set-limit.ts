import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: the wrapper does not forward the optional setMaxFrameSize() (the stdio example's old bug), so a peer that has not authenticated may send frames up to the listener's own limit. */
class NoSetLimitConnection extends ForwardingConnection {
  constructor(inner: FrameConnection) {
    super(inner);
    // The optional method is simply not there.
    Object.defineProperty(this, 'setMaxFrameSize', { value: undefined });
  }
}

@Transport({ name: 'mutant-no-set-limit', schemes: ['mutant-no-set-limit'] })
export class NoSetLimitTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-no-set-limit';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new NoSetLimitConnection(connection);
  }
}

export const conformance = mutantHints('mutant-no-set-limit');
