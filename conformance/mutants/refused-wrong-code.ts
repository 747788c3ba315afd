import { CommunicationError, ErrorCode, Transport, type FrameConnection, type TransportConnectOptions } from 'spear-comm';
import { mutantHints, MutantTransport } from './wrap.js';

/** Bug: a refused connection is reported as ChannelCreationFailed instead of ConnectionRefused. */
@Transport({ name: 'mutant-refused-wrong-code', schemes: ['mutant-refused-wrong-code'] })
export class RefusedWrongCodeTransport extends MutantTransport {
  protected readonly scheme = 'mutant-refused-wrong-code';

  protected override innerConnect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    return super.innerConnect(url, options).catch((err: unknown) => {
      throw CommunicationError.is(err, ErrorCode.ConnectionRefused)
        ? new CommunicationError(ErrorCode.ChannelCreationFailed, err.message)
        : err;
    });
  }
}

export const conformance = mutantHints('mutant-refused-wrong-code');
