import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Compares two secrets in time that depends on neither their contents nor where they differ. */
export function secretsEqual(given: string, expected: string): boolean {
  // Hashing first gives equal-length inputs, so not even the length leaks through timing.
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}

/** A fresh random secret (256 bits, base64url). */
export function generateSecret(): string {
  return randomBytes(32).toString('base64url');
}
