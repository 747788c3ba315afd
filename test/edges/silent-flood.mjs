// Opens many silent connections (TCP connect, then nothing) to a listener running in another
// process and counts the sockets that process holds, from /proc/<pid>/fd. Used by
// silent-connections.test.ts (few connections) and by `node test/edges/silent-flood.mjs` (500).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const fixture = fileURLToPath(new URL('./fixtures/limited-listener.mjs', import.meta.url));

/** Sockets open in process `pid` (Linux). */
export function socketFds(pid) {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

/** Starts the listener child on `url`; resolves with { child, url, pid, stop() }. */
export async function startListener(url, maxConnections, authTimeoutMs) {
  const child = spawn(process.execPath, [fixture, url, String(maxConnections), String(authTimeoutMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const line = await Promise.race([
    once(createInterface({ input: child.stdout }), 'line').then(([l]) => l),
    exited.then(([code]) => {
      throw new Error(`the listener child exited (code ${code}); is dist/ built (npm run build)?`);
    }),
  ]);
  return {
    child,
    url: line,
    pid: child.pid,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

function target(url) {
  const u = new URL(url);
  if (u.protocol === 'unix:') return { path: decodeURIComponent(u.pathname) };
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port) };
}

/**
 * Opens `count` silent connections to `url` (a listener with `maxConnections` = `max`), waits
 * until the listener has closed all it should refuse (count - max) or `waitMs` passed, and reports
 * the listener process's sockets before and then.
 */
export async function silentFlood(listener, count, max, waitMs) {
  const before = socketFds(listener.pid);
  const sockets = [];
  let closedByListener = 0;
  let resolveEnough;
  const enough = new Promise((resolve) => (resolveEnough = resolve));
  for (let i = 0; i < count; i++) {
    const socket = connect(target(listener.url));
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.once('close', () => {
      if (++closedByListener >= count - max) resolveEnough();
    });
    sockets.push(socket);
  }
  await Promise.all(sockets.map((s) => (s.connecting ? once(s, 'connect').catch(() => {}) : undefined)));
  const timer = setTimeout(resolveEnough, waitMs);
  await enough;
  clearTimeout(timer);
  const held = socketFds(listener.pid);
  // Refused sockets may take a moment to close on the listener's side (an orderly close waits for
  // the peer's FIN): how many it holds once that has happened (polled for up to 3 s).
  let settled = held;
  for (const until = Date.now() + 3_000; settled > before + max && Date.now() < until;) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    settled = socketFds(listener.pid);
  }
  for (const s of sockets) s.destroy();
  return { before, held, settled, closedByListener, opened: count };
}

// As a script: node test/edges/silent-flood.mjs [count=500] [max=50]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const count = Number(process.argv[2] ?? 500);
  const max = Number(process.argv[3] ?? 50);
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(`${tmpdir()}/spear-flood-`);
  const urls = ['tcp://127.0.0.1:0', `unix://${dir}/l.sock`, 'ws://127.0.0.1:0/spear', 'grpc://127.0.0.1:0'];
  for (const url of urls) {
    const listener = await startListener(url, max, 30_000);
    const r = await silentFlood(listener, count, max, 10_000);
    console.log(
      `${url.split(':')[0].padEnd(5)} ${count} silent connections, maxConnections ${max}: listener sockets before ${r.before}, when the last refused peer saw its close ${r.held} (+${r.held - r.before}), settled ${r.settled} (+${r.settled - r.before}); ${r.closedByListener} refused and closed by the listener`,
    );
    await listener.stop();
  }
  rmSync(dir, { recursive: true, force: true });
}
