import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { NATS_SERVER_INSTALL, natsServerAvailable } from './nats-server.js';

/**
 * How `spear-comm conformance spear-comm/plugins/nats` reaches NATS: the server in
 * `SPEAR_NATS_URL` (e.g. `nats://127.0.0.1:4222`), or else a `nats-server` from PATH that it
 * starts on a free loopback port at the first listen and stops when the process exits.
 * Every listener gets a fresh subject.
 */
let server: { url: string; child: ChildProcess } | undefined;

function serverUrl(): string {
  const configured = process.env.SPEAR_NATS_URL;
  if (configured) return configured.replace(/\/+$/, '');
  if (server) return server.url;
  if (!natsServerAvailable()) {
    throw new Error(`The nats conformance target needs nats-server on PATH or SPEAR_NATS_URL; install it: ${NATS_SERVER_INSTALL}`);
  }
  // address() is synchronous: a free port and the wait for the server are found by short child processes.
  const port = Number(
    execFileSync(
      process.execPath,
      ['-e', "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"],
      {
        encoding: 'utf8',
      },
    ).trim(),
  );
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  child.unref();
  process.once('exit', () => child.kill());
  execFileSync(
    process.execPath,
    [
      '-e',
      `const net=require('net');const end=Date.now()+10000;(function t(){const s=net.connect(${port},'127.0.0.1');s.on('connect',()=>{s.destroy();process.exit(0)});s.on('error',()=>{if(Date.now()>end)process.exit(1);setTimeout(t,20)})})()`,
    ],
    { stdio: 'ignore' },
  );
  server = { url: `nats://127.0.0.1:${port}`, child };
  return server.url;
}

let counter = 0;

export const conformance = {
  nats: {
    address: () => `${serverUrl()}/spear.conformance.${process.pid}.${++counter}`,
  },
};
