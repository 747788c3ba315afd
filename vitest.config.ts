import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  // Tests import the package by its public name, as users do; this maps it onto the sources.
  resolve: {
    alias: [
      { find: /^spear-comm$/, replacement: `${root}core/index.ts` },
      { find: /^spear-comm\/runtime$/, replacement: `${root}runtime/index.ts` },
      { find: /^spear-comm\/transport-kit$/, replacement: `${root}plugins/transport-kit/index.ts` },
      { find: /^spear-comm\/codec-kit$/, replacement: `${root}codecs/codec-kit/index.ts` },
      { find: /^spear-comm\/conformance$/, replacement: `${root}conformance/index.ts` },
      { find: /^spear-comm\/(plugins|codecs)\/([^/]+)$/, replacement: `${root}$1/$2/index.ts` },
    ],
  },
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  test: {
    setupFiles: ['reflect-metadata'],
    include: [
      'core/**/*.test.ts',
      'runtime/**/*.test.ts',
      'plugins/**/*.test.ts',
      'codecs/**/*.test.ts',
      'conformance/**/*.test.ts',
      'bench/**/*.test.ts',
      'test/**/*.test.ts',
    ],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
