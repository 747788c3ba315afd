import type { CommunicationChannel, CommunicationError } from 'spear-comm';
import { within } from '../assert.js';

/** Resolves when the channel has closed (at once if it already has), with the reason it gave; fails after `ms`. */
export function closed(channel: CommunicationChannel, ms: number, what: string): Promise<CommunicationError | undefined> {
  if (!channel.isConnected()) return Promise.resolve(undefined);
  let off: () => void = () => {};
  const done = new Promise<CommunicationError | undefined>((resolve) => {
    off = channel.on('close', (reason) => resolve(reason));
  });
  return within(done, ms, what).finally(off);
}
