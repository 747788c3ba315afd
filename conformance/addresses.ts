import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Schemes whose URLs mean "with TLS". */
export const TLS_SCHEMES: ReadonlySet<string> = new Set(['tls', 'wss', 'grpcs']);

let socketDir: string | undefined;
let sockets = 0;

/** A fresh unix socket path in a private temp directory that is removed when the process exits. */
function unixSocketUrl(): string {
  if (!socketDir) {
    const dir = mkdtempSync(join(tmpdir(), 'spear-conformance-'));
    socketDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return `unix://${socketDir}/${process.pid}-${++sockets}.sock`;
}

const DEFAULTS: Record<string, () => string> = {
  memory: () => 'memory://',
  tcp: () => 'tcp://127.0.0.1:0',
  tls: () => 'tls://127.0.0.1:0',
  unix: unixSocketUrl,
  ws: () => 'ws://127.0.0.1:0/spear',
  wss: () => 'wss://127.0.0.1:0/spear',
  grpc: () => 'grpc://127.0.0.1:0',
  grpcs: () => 'grpcs://127.0.0.1:0',
};

/**
 * A fresh-listen-URL function for a transport with these schemes (TLS schemes when `tls`), or
 * undefined when none of its schemes is one the kit knows.
 */
export function defaultAddress(schemes: readonly string[], tls: boolean): (() => string) | undefined {
  const scheme = schemes.find((s) => DEFAULTS[s] && TLS_SCHEMES.has(s) === tls);
  return scheme ? DEFAULTS[scheme] : undefined;
}
