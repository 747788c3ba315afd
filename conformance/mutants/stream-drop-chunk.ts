import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: one in 40 frames of 32 KiB or more is lost while send() reports success (a lossy bulk path). */
class ChunkDroppingConnection extends ForwardingConnection {
  private large = 0;

  override send(frame: Uint8Array): Promise<void> {
    if (frame.byteLength >= 32 * 1024 && ++this.large % 40 === 0) return Promise.resolve();
    return super.send(frame);
  }
}

@Transport({ name: 'mutant-stream-drop-chunk', schemes: ['mutant-stream-drop-chunk'] })
export class StreamDropChunkTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-stream-drop-chunk';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new ChunkDroppingConnection(connection);
  }
}

export const conformance = mutantHints('mutant-stream-drop-chunk');
