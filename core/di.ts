// The only module that imports tsyringe: reflect-metadata must be loaded before it, whatever a
// user happens to import first (a plugin, the conformance kit, or the core entry).
import 'reflect-metadata';

export { container, inject, injectable, Lifecycle } from 'tsyringe';
export type { DependencyContainer, InjectionToken } from 'tsyringe';
