import { Transport, type FrameConnection } from 'spear-comm';
import { ForwardingConnection, mutantHints, SymmetricMutant } from './wrap.js';

/** No bug at all: the mutants' wrapper around the memory transport, unchanged. It must pass the whole kit. */
@Transport({ name: 'mutant-control', schemes: ['mutant-control'] })
export class ControlTransport extends SymmetricMutant {
  protected readonly scheme = 'mutant-control';

  protected wrap(connection: FrameConnection): FrameConnection {
    return new ForwardingConnection(connection);
  }
}

export const conformance = mutantHints('mutant-control');
