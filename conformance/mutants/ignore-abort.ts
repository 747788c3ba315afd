import { Transport, type FrameConnection, type TransportConnectOptions } from 'spear-comm';
import { mutantHints, MutantTransport } from './wrap.js';

/** Bug: connect() ignores its AbortSignal. */
@Transport({ name: 'mutant-ignore-abort', schemes: ['mutant-ignore-abort'] })
export class IgnoreAbortTransport extends MutantTransport {
  protected readonly scheme = 'mutant-ignore-abort';

  protected override innerConnect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const { signal: _ignored, ...rest } = options;
    return super.innerConnect(url, rest);
  }
}

export const conformance = mutantHints('mutant-ignore-abort');
