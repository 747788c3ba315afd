import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, type ListenerState, mutantHints, MutantTransport } from './wrap.js';

/** Bug: when the server drops a client that never got an answer (a bad one), the whole listener goes down with it. */
class FragileConnection extends ForwardingConnection {
  private answered = false;

  constructor(
    inner: FrameConnection,
    private readonly listener: ListenerState,
  ) {
    super(inner);
  }

  override send(frame: Uint8Array): Promise<void> {
    this.answered = true;
    return super.send(frame);
  }

  override async close(): Promise<void> {
    await super.close();
    if (!this.answered) await this.listener.inner.close();
  }
}

@Transport({ name: 'mutant-fragile-listener', schemes: ['mutant-fragile-listener'] })
export class FragileListenerTransport extends MutantTransport {
  protected readonly scheme = 'mutant-fragile-listener';

  protected override wrapServer(connection: FrameConnection, state: ListenerState): FrameConnection {
    return new FragileConnection(connection, state);
  }
}

export const conformance = mutantHints('mutant-fragile-listener');
