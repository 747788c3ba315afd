import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/**
 * Bug: a large frame (32 KiB or more) is reported sent at once but queued, and the next large frame
 * sent in the same turn overtakes it (parallel bulk lanes).
 */
class SwappingConnection extends ForwardingConnection {
  private held: Uint8Array | undefined;

  override send(frame: Uint8Array): Promise<void> {
    if (frame.byteLength >= 32 * 1024 && !this.held) {
      this.held = frame;
      setImmediate(() => this.release());
      return Promise.resolve();
    }
    const sending = super.send(frame);
    this.release();
    return sending;
  }

  private release(): void {
    const held = this.held;
    this.held = undefined;
    if (held) super.send(held).catch(() => {});
  }
}

@Transport({ name: 'mutant-stream-swap-large', schemes: ['mutant-stream-swap-large'] })
export class StreamSwapLargeTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-stream-swap-large';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new SwappingConnection(connection);
  }
}

export const conformance = mutantHints('mutant-stream-swap-large');
