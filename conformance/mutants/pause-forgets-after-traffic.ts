import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: after 4,000 frames have been delivered, pause() no longer holds anything (a counter that wraps). */
class PauseForgetsAfterTrafficConnection extends ForwardingConnection {
  private delivered = 0;

  protected override wrapSink(sink: FrameSink): FrameSink {
    return {
      onFrame: (frame) => {
        this.delivered++;
        sink.onFrame(frame);
      },
      onClose: (error) => sink.onClose(error),
    };
  }

  override pause(): void {
    if (this.delivered < 4_000) super.pause();
  }
}

@Transport({ name: 'mutant-pause-forgets-after-traffic', schemes: ['mutant-pause-forgets-after-traffic'] })
export class PauseForgetsAfterTrafficTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-pause-forgets-after-traffic';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new PauseForgetsAfterTrafficConnection(connection);
  }
}

export const conformance = mutantHints('mutant-pause-forgets-after-traffic');
