import { connect, type NatsConnection } from '@nats-io/transport-node';
import { natsServerAvailable, startNatsServer, NATS_SERVER_INSTALL } from 'spear-comm/plugins/nats';
import type { Peer } from '../peer.js';

/**
 * Raw NATS baseline: the same client library the nats transport uses, doing plain request/reply
 * through the same nats-server, without spear-comm. Subject `<prefix>.echo` answers every request
 * with its payload; `<prefix>.sink` answers only empty ones (for `sync()`).
 */
export interface RawNatsEndpoints {
  url: string;
  echo: string;
  sink: string;
}

const MAX_PAYLOAD_NOTE = 'raw NATS request/reply carries at most the server max_payload (1 MiB by default) per message';

export async function startRawNatsServer(url: string): Promise<{ endpoints: RawNatsEndpoints; close(): Promise<void> }> {
  const nc = await connect({ servers: url });
  const prefix = `spear.bench.raw.${process.pid}`;
  nc.subscribe(`${prefix}.echo`, {
    callback: (_err, msg) => {
      msg.respond(msg.data);
    },
  });
  nc.subscribe(`${prefix}.sink`, {
    callback: (_err, msg) => {
      if (msg.data.length === 0) msg.respond(msg.data);
    },
  });
  await nc.flush();
  return { endpoints: { url, echo: `${prefix}.echo`, sink: `${prefix}.sink` }, close: () => nc.close() };
}

export class RawNatsPeer implements Peer {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly endpoints: RawNatsEndpoints,
  ) {}

  static async connect(endpoints: RawNatsEndpoints): Promise<RawNatsPeer> {
    return new RawNatsPeer(await connect({ servers: endpoints.url }), endpoints);
  }

  async roundTrip(payload: Uint8Array): Promise<void> {
    const reply = await this.nc.request(this.endpoints.echo, payload, { timeout: 30_000 });
    if (reply.data.length !== payload.byteLength)
      throw new Error(`echo of ${payload.byteLength} bytes came back as ${reply.data.length} bytes`);
  }

  send(payload: Uint8Array): void {
    if (payload.byteLength > (this.nc.info?.max_payload ?? 1024 * 1024)) throw new Error(MAX_PAYLOAD_NOTE);
    this.nc.publish(this.endpoints.sink, payload);
  }

  async sync(): Promise<void> {
    await this.nc.request(this.endpoints.sink, new Uint8Array(0), { timeout: 30_000 });
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}

/**
 * The NATS server the bench uses: `SPEAR_NATS_URL`, or a nats-server from PATH started for the
 * run (and stopped by the returned function). Undefined, with the reason, when there is neither.
 */
export async function benchNatsServer(): Promise<{ url: string; stop(): Promise<void> } | { missing: string }> {
  const configured = process.env['SPEAR_NATS_URL'];
  if (configured) return { url: configured.replace(/\/+$/, ''), stop: () => Promise.resolve() };
  if (!natsServerAvailable()) {
    return { missing: `nats-server is not on PATH and SPEAR_NATS_URL is not set (install it: ${NATS_SERVER_INSTALL})` };
  }
  const server = await startNatsServer();
  return { url: server.url, stop: () => server.stop() };
}
