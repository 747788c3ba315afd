import { CommunicationError, ErrorCode, Transport, type FrameConnection, type TransportConnectOptions } from 'spear-comm';
import { mutantHints, MutantTransport } from './wrap.js';

/** Bug: a refused connection is retried quietly until the connect timeout, so a dead address takes the whole timeout to fail. */
@Transport({ name: 'mutant-slow-refusal', schemes: ['mutant-slow-refusal'] })
export class SlowRefusalTransport extends MutantTransport {
  protected readonly scheme = 'mutant-slow-refusal';

  protected override async innerConnect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    try {
      return await super.innerConnect(url, options);
    } catch {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.timeoutMs);
        options.signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      });
      throw new CommunicationError(ErrorCode.Timeout, `Could not connect to ${url.href} within ${options.timeoutMs} ms`);
    }
  }
}

export const conformance = mutantHints('mutant-slow-refusal');
