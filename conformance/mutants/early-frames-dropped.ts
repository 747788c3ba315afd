import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: frames that arrive before start() are dropped (the inner connection is started at once, and nobody listens yet). */
class EarlyFramesDroppedConnection extends ForwardingConnection {
  private sink: FrameSink | undefined;

  constructor(inner: FrameConnection) {
    super(inner);
    inner.start({
      onFrame: (frame) => this.sink?.onFrame(frame),
      onClose: (error) => this.sink?.onClose(error),
    });
  }

  override start(sink: FrameSink): void {
    this.sink = sink;
  }
}

@Transport({ name: 'mutant-early-frames-dropped', schemes: ['mutant-early-frames-dropped'] })
export class EarlyFramesDroppedTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-early-frames-dropped';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new EarlyFramesDroppedConnection(connection);
  }
}

export const conformance = mutantHints('mutant-early-frames-dropped');
