import * as grpc from '@grpc/grpc-js';
import { Fifo, type Peer } from '../peer.js';

/**
 * Raw `@grpc/grpc-js` baseline: one long-lived bidi stream per connection, messages passed as
 * bytes without any protobuf wrapping. `Echo` echoes; `Sink` answers only empty messages.
 */
const identity = (value: Buffer): Buffer => value;
const method = (name: string) => ({
  path: `/spear.bench.Raw/${name}`,
  requestStream: true,
  responseStream: true,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});
const SERVICE = { echo: method('Echo'), sink: method('Sink') } satisfies grpc.ServiceDefinition;
const LIMITS = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };

type Stream = grpc.ServerDuplexStream<Buffer, Buffer>;

export interface RawGrpcServer {
  address: string;
  close(): Promise<void>;
}

export async function startRawGrpcServer(host: string): Promise<RawGrpcServer> {
  const server = new grpc.Server(LIMITS);
  const serveStream = (sink: boolean) => (call: Stream) => {
    call.on('data', (data: Buffer) => {
      if (!sink || data.length === 0) call.write(data);
    });
    call.on('end', () => call.end());
    call.on('error', () => {});
  };
  server.addService(SERVICE, { echo: serveStream(false), sink: serveStream(true) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    address: `${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        // Streams the client never ended would hold tryShutdown open.
        setTimeout(() => server.forceShutdown(), 1000).unref();
      }),
  };
}

const RawClient = grpc.makeGenericClientConstructor(SERVICE, 'Raw');

export class RawGrpcPeer implements Peer {
  private readonly waiting = new Fifo();
  private failure: Error | undefined;

  private constructor(
    private readonly client: grpc.Client,
    private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>,
  ) {
    call.on('data', (data: Buffer) => this.waiting.settle(data.length));
    call.on('error', (err: Error) => this.fail(err));
    call.on('end', () => this.fail(new Error('raw grpc stream ended by the server')));
  }

  static async connect(address: string, kind: 'echo' | 'sink'): Promise<RawGrpcPeer> {
    // Retries off, as a careful client of a long-lived stream would (and as the grpc plugin does):
    // with them on, grpc-js holds every sent message in a retry buffer.
    const client = new RawClient(address, grpc.credentials.createInsecure(), { ...LIMITS, 'grpc.enable_retries': 0 });
    await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
    const call = (client as unknown as Record<string, () => grpc.ClientDuplexStream<Buffer, Buffer>>)[kind]!.call(client);
    return new RawGrpcPeer(client, call);
  }

  roundTrip(payload: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    this.call.write(toBuffer(payload));
    return this.waiting.wait(payload.byteLength);
  }

  send(payload: Uint8Array): void {
    if (this.failure) throw this.failure;
    this.call.write(toBuffer(payload));
  }

  sync(): Promise<void> {
    return this.roundTrip(new Uint8Array(0));
  }

  async close(): Promise<void> {
    this.failure ??= new Error('raw grpc stream closed');
    this.call.cancel();
    this.client.close();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.waiting.failAll(error);
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
