import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: after the handshake, every frame under 256 bytes is delivered twice (a retransmit that is not deduplicated). */
class DuplicatingConnection extends ForwardingConnection {
  protected override wrapSink(sink: FrameSink): FrameSink {
    let seen = 0;
    return {
      onFrame: (frame) => {
        sink.onFrame(frame);
        if (++seen > 2 && frame.byteLength < 256) sink.onFrame(frame.slice());
      },
      onClose: (error) => sink.onClose(error),
    };
  }
}

@Transport({ name: 'mutant-stream-dup-small', schemes: ['mutant-stream-dup-small'] })
export class StreamDupSmallTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-stream-dup-small';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new DuplicatingConnection(connection);
  }
}

export const conformance = mutantHints('mutant-stream-dup-small');
