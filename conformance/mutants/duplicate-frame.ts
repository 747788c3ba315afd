import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: every 500th frame is delivered twice. */
class DuplicateFrameConnection extends ForwardingConnection {
  private count = 0;

  protected override wrapSink(sink: FrameSink): FrameSink {
    return {
      onFrame: (frame) => {
        sink.onFrame(frame);
        if (++this.count % 500 === 0) sink.onFrame(frame.slice());
      },
      onClose: (error) => sink.onClose(error),
    };
  }
}

@Transport({ name: 'mutant-duplicate-frame', schemes: ['mutant-duplicate-frame'] })
export class DuplicateFrameTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-duplicate-frame';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new DuplicateFrameConnection(connection);
  }
}

export const conformance = mutantHints('mutant-duplicate-frame');
