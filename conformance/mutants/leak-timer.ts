import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: each connection starts a keepalive interval and close() forgets to clear it. */
class LeakingConnection extends ForwardingConnection {
  private readonly keepalive = setInterval(() => {}, 1000);

  override close(): Promise<void> {
    void this.keepalive; // the clearInterval(this.keepalive) that should be here is the bug
    return super.close();
  }
}

@Transport({ name: 'mutant-leak-timer', schemes: ['mutant-leak-timer'] })
export class LeakTimerTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-leak-timer';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new LeakingConnection(connection);
  }
}

export const conformance = mutantHints('mutant-leak-timer');
