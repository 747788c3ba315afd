/** The most characters of a peer-supplied string that an error message or log line repeats. */
export const PEER_TEXT_LIMIT = 64;

/**
 * A peer-supplied value as it may appear in an error message or log line: JSON-quoted (so
 * newlines and control characters cannot forge log lines) and cut to `limit` characters (so a
 * peer cannot make every error it causes as large as a frame).
 */
export function quotePeerText(value: unknown, limit = PEER_TEXT_LIMIT): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  if (text.length <= limit) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, limit))}… (${text.length} characters)`;
}

/** Peer-supplied prose (e.g. a server's refusal message) for an error message: control characters blanked, cut to `limit`. */
export function clipPeerText(text: string, limit = 1_000): string {
  const flat = text.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return flat.length <= limit ? flat : `${flat.slice(0, limit)}… (${flat.length} characters)`;
}
