import { Transport, type FrameListener, type TransportListenOptions } from 'spear-comm';
import { mutantHints, MutantTransport } from './wrap.js';

/** Bug: closing a listener stops it accepting but leaves the connections it accepted open. */
@Transport({ name: 'mutant-listener-keeps-connections', schemes: ['mutant-listener-keeps-connections'] })
export class ListenerKeepsConnectionsTransport extends MutantTransport {
  protected readonly scheme = 'mutant-listener-keeps-connections';

  override async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    let closed = false;
    const listener = await super.listen(url, {
      ...options,
      onConnection: (connection) => {
        if (closed) void connection.close();
        else options.onConnection(connection);
      },
    });
    return {
      url: listener.url,
      close: () => {
        closed = true;
        return Promise.resolve();
      },
    };
  }
}

export const conformance = mutantHints('mutant-listener-keeps-connections');
