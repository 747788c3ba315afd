import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: frames are handed to the sink one turn late, so frames received just before a local close() are delivered after it. */
class DeliverAfterCloseConnection extends ForwardingConnection {
  protected override wrapSink(sink: FrameSink): FrameSink {
    return {
      onFrame: (frame) => setImmediate(() => sink.onFrame(frame)),
      onClose: (error) => setImmediate(() => sink.onClose(error)),
    };
  }
}

@Transport({ name: 'mutant-deliver-after-close', schemes: ['mutant-deliver-after-close'] })
export class DeliverAfterCloseTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-deliver-after-close';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new DeliverAfterCloseConnection(connection);
  }
}

export const conformance = mutantHints('mutant-deliver-after-close');
