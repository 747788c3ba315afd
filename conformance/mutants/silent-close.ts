import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: when the peer closes in an orderly way, nobody is told (an 'end' event with no handler). */
class SilentCloseConnection extends ForwardingConnection {
  protected override wrapSink(sink: FrameSink): FrameSink {
    return {
      onFrame: (frame) => sink.onFrame(frame),
      onClose: (error) => {
        if (error) sink.onClose(error);
      },
    };
  }
}

@Transport({ name: 'mutant-silent-close', schemes: ['mutant-silent-close'] })
export class SilentCloseTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-silent-close';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new SilentCloseConnection(connection);
  }
}

export const conformance = mutantHints('mutant-silent-close');
