import { Transport, type FrameListener, type TransportListenOptions } from 'spear-comm';
import { mutantHints, MutantTransport } from './wrap.js';

/** Bug: listening on a taken address quietly listens elsewhere and reports success. */
@Transport({ name: 'mutant-taken-address', schemes: ['mutant-taken-address'] })
export class TakenAddressTransport extends MutantTransport {
  protected readonly scheme = 'mutant-taken-address';

  override async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    try {
      return await super.listen(url, options);
    } catch {
      const elsewhere = await super.listen(new URL(`${this.scheme}://`), options);
      return { url: url.href, close: () => elsewhere.close() };
    }
  }
}

export const conformance = mutantHints('mutant-taken-address');
