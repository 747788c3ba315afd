import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: connections report an empty remoteAddress. */
class EmptyAddressConnection extends ForwardingConnection {
  override get remoteAddress(): string {
    return '';
  }
}

@Transport({ name: 'mutant-empty-address', schemes: ['mutant-empty-address'] })
export class EmptyAddressTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-empty-address';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new EmptyAddressConnection(connection);
  }
}

export const conformance = mutantHints('mutant-empty-address');
