import { createRequire } from 'node:module';

/** The spear-comm version the kit belongs to (reports carry it). */
export const KIT_VERSION: string = (createRequire(import.meta.url)('spear-comm/package.json') as { version: string }).version;
