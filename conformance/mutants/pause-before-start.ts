import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: pause() before start() is ignored (only a started connection can be paused). */
class PauseBeforeStartConnection extends ForwardingConnection {
  private started = false;

  override start(sink: FrameSink): void {
    this.started = true;
    super.start(sink);
  }

  override pause(): void {
    if (this.started) super.pause();
  }
}

@Transport({ name: 'mutant-pause-before-start', schemes: ['mutant-pause-before-start'] })
export class PauseBeforeStartTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-pause-before-start';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new PauseBeforeStartConnection(connection);
  }
}

export const conformance = mutantHints('mutant-pause-before-start');
