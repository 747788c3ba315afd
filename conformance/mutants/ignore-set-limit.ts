import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: setMaxFrameSize() is accepted and ignored. */
class IgnoreSetLimitConnection extends ForwardingConnection {
  override setMaxFrameSize(): void {
    // Accepted, and ignored.
  }
}

@Transport({ name: 'mutant-ignore-set-limit', schemes: ['mutant-ignore-set-limit'] })
export class IgnoreSetLimitTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-ignore-set-limit';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new IgnoreSetLimitConnection(connection);
  }
}

export const conformance = mutantHints('mutant-ignore-set-limit');
