// The streaming functions the stream tests serve: a digest of everything received, and an echo.
import { createHash } from 'node:crypto';
import { streaming } from 'spear-comm';

export const sha256Handler = streaming(async function* (chunks) {
  const hash = createHash('sha256');
  for await (const chunk of chunks) hash.update(chunk);
  yield new TextEncoder().encode(hash.digest('hex'));
});

export const echoHandler = streaming(async function* (chunks) {
  yield* chunks;
});
