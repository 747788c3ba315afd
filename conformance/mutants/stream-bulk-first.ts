import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

const QUIET_MS = 50;

/** Bug: small frames wait until bulk traffic has been quiet for 50 ms (a "bulk first" send queue): head-of-line blocking. */
class BulkFirstConnection extends ForwardingConnection {
  private lastLarge = -Infinity;
  private held: Uint8Array[] = [];
  private timer: NodeJS.Timeout | undefined;

  override send(frame: Uint8Array): Promise<void> {
    const now = performance.now();
    if (frame.byteLength >= 32 * 1024) this.lastLarge = now;
    else if (now - this.lastLarge < QUIET_MS) {
      this.held.push(frame);
      this.timer ??= setTimeout(() => this.flush(), QUIET_MS);
      return Promise.resolve();
    }
    return super.send(frame);
  }

  override close(): Promise<void> {
    clearTimeout(this.timer);
    this.held = [];
    return super.close();
  }

  private flush(): void {
    this.timer = undefined;
    const quietFor = performance.now() - this.lastLarge;
    if (quietFor < QUIET_MS) {
      this.timer = setTimeout(() => this.flush(), QUIET_MS - quietFor);
      return;
    }
    for (const frame of this.held.splice(0)) super.send(frame).catch(() => {});
  }
}

@Transport({ name: 'mutant-stream-bulk-first', schemes: ['mutant-stream-bulk-first'] })
export class StreamBulkFirstTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-stream-bulk-first';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new BulkFirstConnection(connection);
  }
}

export const conformance = mutantHints('mutant-stream-bulk-first');
