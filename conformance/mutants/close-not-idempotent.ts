import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: a second close() rejects. */
class CloseNotIdempotentConnection extends ForwardingConnection {
  private closed = false;

  override close(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('already closed'));
    this.closed = true;
    return super.close();
  }
}

@Transport({ name: 'mutant-close-not-idempotent', schemes: ['mutant-close-not-idempotent'] })
export class CloseNotIdempotentTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-close-not-idempotent';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new CloseNotIdempotentConnection(connection);
  }
}

export const conformance = mutantHints('mutant-close-not-idempotent');
