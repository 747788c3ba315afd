import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'spear-comm';

/**
 * The absolute path of a file the spear-comm package ships (e.g. `proto/spear/v1/x.proto`).
 * Walks up from `fromUrl` to the folder whose package.json is spear-comm's, so it works from the
 * sources (`codecs/protobuf/`) and from the build (`dist/codecs/protobuf/`) alike.
 */
export function packageFile(relativePath: string, fromUrl: string): string {
  const start = dirname(fileURLToPath(fromUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readName(manifest) === PACKAGE_NAME) return join(dir, relativePath);
    if (dirname(dir) === dir) {
      throw new Error(
        `Cannot find the ${PACKAGE_NAME} package folder (a package.json named "${PACKAGE_NAME}") above ${start}, so ${relativePath} cannot be loaded`,
      );
    }
  }
}

function readName(manifest: string): unknown {
  try {
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name;
  } catch {
    return undefined;
  }
}
