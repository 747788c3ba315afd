import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: one bit in the middle of every frame of 1,000 bytes or more flips (an off-by-one in a copy loop, say). */
class CorruptingConnection extends ForwardingConnection {
  override send(frame: Uint8Array): Promise<void> {
    if (frame.byteLength < 1000) return super.send(frame);
    const copy = frame.slice();
    copy[copy.byteLength >> 1]! ^= 0x10;
    return super.send(copy);
  }
}

@Transport({ name: 'mutant-corrupt', schemes: ['mutant-corrupt'] })
export class CorruptTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-corrupt';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new CorruptingConnection(connection);
  }
}

export const conformance = mutantHints('mutant-corrupt');
