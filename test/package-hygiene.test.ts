import { accessSync, constants, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The quick parts of scripts/check-package.mjs, on every test run (the full check packs and
// installs the package, which needs the registry and takes minutes: `npm run check-package`).
const root = fileURLToPath(new URL('..', import.meta.url));
const SHIPPED = ['core', 'runtime', 'plugins', 'codecs', 'conformance', 'bench', 'bin'];

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => relative(root, join(e.parentPath, e.name)))
    .filter((path) => !/(^|\/)(test-support|mutants)\//.test(path));
}

describe('the published package', () => {
  it('has no doc comment citing a "DESIGN §N" (DESIGN.md is not part of the package)', () => {
    const citing = SHIPPED.flatMap(sources).filter((path) => /DESIGN(\.md)? §/.test(readFileSync(join(root, path), 'utf8')));
    expect(citing).toEqual([]);
  });

  it('keeps transport libraries and benny out of its hard dependencies, as optional peers', () => {
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
      files: string[];
    };
    for (const name of ['ws', '@grpc/grpc-js', 'bufferutil', 'benny']) {
      expect(manifest.dependencies[name], name).toBeUndefined();
      expect(manifest.peerDependenciesMeta[name]?.optional, name).toBe(true);
    }
    expect(manifest.files).toContain('!dist/conformance/mutants');
  });

  it('builds an executable CLI (npm test builds dist/ before vitest runs)', () => {
    expect(() => accessSync(join(root, 'dist', 'bin', 'spear-comm.js'), constants.X_OK)).not.toThrow();
  });
});
