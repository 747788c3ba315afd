import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Absolute path of the shipped `proto/spear/v1/transport.proto`, for generating clients in other
 * languages or loading it with @grpc/proto-loader. Found by walking up from this module to the
 * spear-comm package root, so it works from the sources and from `dist/`.
 */
export function transportProtoPath(): string {
  return join(packageRoot(), 'proto', 'spear', 'v1', 'transport.proto');
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'spear-comm') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`Cannot find the spear-comm package root above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
