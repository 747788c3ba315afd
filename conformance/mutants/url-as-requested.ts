import { Transport, type FrameListener, type TransportListenOptions } from 'spear-comm';
import { mutantHints, MutantTransport } from './wrap.js';

/** Bug: a listener reports the URL it was asked for, not the one it bound (an anonymous name never shows). */
@Transport({ name: 'mutant-url-as-requested', schemes: ['mutant-url-as-requested'] })
export class UrlAsRequestedTransport extends MutantTransport {
  protected readonly scheme = 'mutant-url-as-requested';

  override async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    const listener = await super.listen(url, options);
    return { url: url.href, close: () => listener.close() };
  }
}

export const conformance = mutantHints('mutant-url-as-requested');
