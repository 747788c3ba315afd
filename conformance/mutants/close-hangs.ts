import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: close() does close, but the promise it returns never settles (waiting for an event that never comes). */
class HangingCloseConnection extends ForwardingConnection {
  override close(): Promise<void> {
    void super.close();
    return new Promise<void>(() => {});
  }
}

@Transport({ name: 'mutant-close-hangs', schemes: ['mutant-close-hangs'] })
export class CloseHangsTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-close-hangs';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new HangingCloseConnection(connection);
  }
}

export const conformance = mutantHints('mutant-close-hangs');
