import type { InjectionToken } from './di.js';
import type { Logger } from './logger.js';

/** Injection tokens (interfaces do not exist at run time, so plugins inject by these). */
export const LOGGER: InjectionToken<Logger> = Symbol.for('spear-comm.Logger');
/** The kernel that owns this plugin instance. */
export const KERNEL: InjectionToken<unknown> = Symbol.for('spear-comm.Kernel');
