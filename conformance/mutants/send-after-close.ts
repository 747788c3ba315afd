import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: send() after close() resolves as if the frame went out. */
class SendAfterCloseConnection extends ForwardingConnection {
  private closed = false;

  override send(frame: Uint8Array): Promise<void> {
    if (this.closed) return Promise.resolve();
    return super.send(frame);
  }

  override close(): Promise<void> {
    this.closed = true;
    return super.close();
  }
}

@Transport({ name: 'mutant-send-after-close', schemes: ['mutant-send-after-close'] })
export class SendAfterCloseTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-send-after-close';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new SendAfterCloseConnection(connection);
  }
}

export const conformance = mutantHints('mutant-send-after-close');
