import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: every 100th frame is overtaken by the one after it (say, a retry path that requeues at the back). */
class ReorderingConnection extends ForwardingConnection {
  private sent = 0;
  private held: { frame: Uint8Array; resolve(): void; reject(e: unknown): void } | undefined;

  override send(frame: Uint8Array): Promise<void> {
    if (++this.sent % 100 === 0 && !this.held) {
      return new Promise<void>((resolve, reject) => {
        this.held = { frame, resolve, reject };
        // Nothing followed in this turn: let it go after all.
        setImmediate(() => this.release());
      });
    }
    const sending = super.send(frame);
    this.release();
    return sending;
  }

  private release(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    super.send(held.frame).then(held.resolve, held.reject);
  }
}

@Transport({ name: 'mutant-reorder', schemes: ['mutant-reorder'] })
export class ReorderTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-reorder';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new ReorderingConnection(connection);
  }
}

export const conformance = mutantHints('mutant-reorder');
