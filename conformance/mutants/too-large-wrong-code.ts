import { CommunicationError, ErrorCode, Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: a frame over the limit closes the connection with DecodeFailed instead of FrameTooLarge. */
class TooLargeWrongCodeConnection extends ForwardingConnection {
  protected override wrapSink(sink: FrameSink): FrameSink {
    return {
      onFrame: (frame) => sink.onFrame(frame),
      onClose: (error) =>
        sink.onClose(
          CommunicationError.is(error, ErrorCode.FrameTooLarge) ? new CommunicationError(ErrorCode.DecodeFailed, error.message) : error,
        ),
    };
  }
}

@Transport({ name: 'mutant-too-large-wrong-code', schemes: ['mutant-too-large-wrong-code'] })
export class TooLargeWrongCodeTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-too-large-wrong-code';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new TooLargeWrongCodeConnection(connection);
  }
}

export const conformance = mutantHints('mutant-too-large-wrong-code');
