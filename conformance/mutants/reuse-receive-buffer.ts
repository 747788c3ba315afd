import { Transport, type FrameConnection, type FrameSink } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: the receiving side reuses one buffer per frame size, overwriting what it delivered. */
class ReuseReceiveBufferConnection extends ForwardingConnection {
  private readonly bySize = new Map<number, Uint8Array>();

  protected override wrapSink(sink: FrameSink): FrameSink {
    return {
      onFrame: (frame) => {
        const reused = this.bySize.get(frame.byteLength);
        if (reused) {
          reused.set(frame);
          return sink.onFrame(reused);
        }
        this.bySize.set(frame.byteLength, frame);
        sink.onFrame(frame);
      },
      onClose: (error) => sink.onClose(error),
    };
  }
}

@Transport({ name: 'mutant-reuse-receive-buffer', schemes: ['mutant-reuse-receive-buffer'] })
export class ReuseReceiveBufferTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-reuse-receive-buffer';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new ReuseReceiveBufferConnection(connection);
  }
}

export const conformance = mutantHints('mutant-reuse-receive-buffer');
