import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: an orderly close by the peer is reported to the sink as an error. */
class OrderlyCloseErrorConnection extends ForwardingConnection {
  protected override wrapSink(sink: FrameSink): FrameSink {
    return {
      onFrame: (frame) => sink.onFrame(frame),
      onClose: (error) => sink.onClose(error ?? new Error('connection closed')),
    };
  }
}

@Transport({ name: 'mutant-orderly-close-error', schemes: ['mutant-orderly-close-error'] })
export class OrderlyCloseErrorTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-orderly-close-error';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new OrderlyCloseErrorConnection(connection);
  }
}

export const conformance = mutantHints('mutant-orderly-close-error');
