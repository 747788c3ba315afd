import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Bug: sendParts() sends each part as a frame of its own instead of one frame. */
class SplitPartsConnection extends ForwardingConnection {
  async sendParts(parts: readonly Uint8Array[]): Promise<void> {
    for (const part of parts) await this.inner.send(part);
  }
}

@Transport({ name: 'mutant-split-parts', schemes: ['mutant-split-parts'] })
export class SplitPartsTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-split-parts';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new SplitPartsConnection(connection);
  }
}

export const conformance = mutantHints('mutant-split-parts');
