import { Transport } from 'spear-comm';
import { mutantHints, MutantTransport } from './wrap.js';

/** Bug: dispose() releases nothing: listeners and connections opened through the plugin stay open. */
@Transport({ name: 'mutant-dispose-noop', schemes: ['mutant-dispose-noop'] })
export class DisposeNoopTransport extends MutantTransport {
  protected readonly scheme = 'mutant-dispose-noop';

  override dispose(): Promise<void> {
    return Promise.resolve();
  }
}

export const conformance = mutantHints('mutant-dispose-noop');
