import { Transport, type FrameConnection, type TransportConnectOptions, type TransportListenOptions } from 'spear-comm';
import { mutantHints, MutantTransport } from './wrap.js';

/** Bug: the frame size limit is never enforced (a stream decoder that allocates whatever length the header says). */
@Transport({ name: 'mutant-no-limit', schemes: ['mutant-no-limit'] })
export class NoLimitTransport extends MutantTransport {
  protected readonly scheme = 'mutant-no-limit';

  protected override innerConnect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    return super.innerConnect(url, { ...options, maxFrameSize: Number.MAX_SAFE_INTEGER });
  }

  protected override listenOptions(options: TransportListenOptions): TransportListenOptions {
    return { ...options, maxFrameSize: Number.MAX_SAFE_INTEGER };
  }
}

export const conformance = mutantHints('mutant-no-limit');
