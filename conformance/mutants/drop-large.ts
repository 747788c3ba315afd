import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: frames over 64 KiB vanish (say, a datagram path with a size cap) while send() reports success. */
class DroppingConnection extends ForwardingConnection {
  override send(frame: Uint8Array): Promise<void> {
    return frame.byteLength > 64 * 1024 ? Promise.resolve() : super.send(frame);
  }
}

@Transport({ name: 'mutant-drop-large', schemes: ['mutant-drop-large'] })
export class DropLargeTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-drop-large';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new DroppingConnection(connection);
  }
}

export const conformance = mutantHints('mutant-drop-large');
