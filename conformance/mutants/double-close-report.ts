import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: the sink is told of the close twice. */
class DoubleCloseReportConnection extends ForwardingConnection {
  protected override wrapSink(sink: FrameSink): FrameSink {
    return {
      onFrame: (frame) => sink.onFrame(frame),
      onClose: (error) => {
        sink.onClose(error);
        sink.onClose(error);
      },
    };
  }
}

@Transport({ name: 'mutant-double-close-report', schemes: ['mutant-double-close-report'] })
export class DoubleCloseReportTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-double-close-report';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new DoubleCloseReportConnection(connection);
  }
}

export const conformance = mutantHints('mutant-double-close-report');
