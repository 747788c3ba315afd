import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** Every connection of every kernel, in one module-level set: the state that should have been per plugin instance. */
const everyConnection = new Set<FrameConnection>();

class TrackedConnection extends ForwardingConnection {
  constructor(inner: FrameConnection) {
    super(inner);
    everyConnection.add(this);
  }

  override close(): Promise<void> {
    everyConnection.delete(this);
    return super.close();
  }
}

/** Bug: dispose() (what kernel.close() calls) closes the connections of every kernel in the process, not just its own. */
@Transport({ name: 'mutant-shared-state', schemes: ['mutant-shared-state'] })
export class SharedStateTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-shared-state';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new TrackedConnection(connection);
  }

  override async dispose(): Promise<void> {
    await Promise.all([...everyConnection].map((c) => c.close()));
    await super.dispose();
  }
}

export const conformance = mutantHints('mutant-shared-state');
