import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: two frames sent in the same turn go out as one (a stream transport that lost its length prefix between writes). */
class MergingConnection extends ForwardingConnection {
  private waiting: { frame: Uint8Array; resolve(): void; reject(e: unknown): void } | undefined;

  override send(frame: Uint8Array): Promise<void> {
    const first = this.waiting;
    if (first) {
      this.waiting = undefined;
      const merged = new Uint8Array(first.frame.byteLength + frame.byteLength);
      merged.set(first.frame);
      merged.set(frame, first.frame.byteLength);
      const sending = super.send(merged);
      sending.then(first.resolve, first.reject);
      return sending;
    }
    return new Promise<void>((resolve, reject) => {
      const entry = { frame, resolve, reject };
      this.waiting = entry;
      queueMicrotask(() => {
        if (this.waiting !== entry) return;
        this.waiting = undefined;
        super.send(frame).then(resolve, reject);
      });
    });
  }
}

@Transport({ name: 'mutant-merge', schemes: ['mutant-merge'] })
export class MergeTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-merge';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new MergingConnection(connection);
  }
}

export const conformance = mutantHints('mutant-merge');
