import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: after 30 pause/resume cycles, pause() no longer holds anything. */
class PauseForgetsAfterCyclesConnection extends ForwardingConnection {
  private pauses = 0;

  override pause(): void {
    if (++this.pauses <= 30) super.pause();
  }
}

@Transport({ name: 'mutant-pause-forgets-after-cycles', schemes: ['mutant-pause-forgets-after-cycles'] })
export class PauseForgetsAfterCyclesTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-pause-forgets-after-cycles';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new PauseForgetsAfterCyclesConnection(connection);
  }
}

export const conformance = mutantHints('mutant-pause-forgets-after-cycles');
