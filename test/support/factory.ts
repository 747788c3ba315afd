import type { Kernel } from 'spear-comm';
import { CommunicationFactory } from 'spear-comm/runtime';

const factories = new WeakMap<Kernel, CommunicationFactory>();

/** One CommunicationFactory per kernel, made on first use; the kernel closes it (kernel.own). */
export function factoryFor(kernel: Kernel): CommunicationFactory {
  let factory = factories.get(kernel);
  if (!factory) factories.set(kernel, (factory = new CommunicationFactory(kernel)));
  return factory;
}
