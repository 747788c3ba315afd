import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, type ListenerState, mutantHints, MutantTransport } from './wrap.js';

/** Bug: a listener writes to whichever client connected last (one shared "current socket" instead of one per connection). */
class SharedSocketConnection extends ForwardingConnection {
  constructor(
    inner: FrameConnection,
    private readonly listener: ListenerState & { latest?: FrameConnection },
  ) {
    super(inner);
    listener.latest = inner;
  }

  override send(frame: Uint8Array): Promise<void> {
    return (this.listener.latest ?? this.inner).send(frame);
  }
}

@Transport({ name: 'mutant-cross-talk', schemes: ['mutant-cross-talk'] })
export class CrossTalkTransport extends MutantTransport {
  protected readonly scheme = 'mutant-cross-talk';

  protected override wrapServer(connection: FrameConnection, state: ListenerState): FrameConnection {
    return new SharedSocketConnection(connection, state);
  }
}

export const conformance = mutantHints('mutant-cross-talk');
