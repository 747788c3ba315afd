// A peer that speaks spear-comm through a transport's raw FrameConnection, with no channel on its
// side: it can send requests and choose not to read the answers (pause), as a hostile client would.
import {
  decodeHandshake,
  encodeHandshake,
  type Codec,
  type ExecutionRequest,
  type FrameConnection,
  type Kernel,
  type RuntimeMessage,
} from 'spear-comm';

export interface FramePeer {
  connection: FrameConnection;
  /** Answers received so far, by requestId. */
  answers: Map<string, RuntimeMessage>;
  /** Sends an ExecutionRequest for `functionName`; resolves when the transport accepted the frame. */
  request(requestId: string, functionName: string, input: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** Connects to `url`, completes the handshake (json AuthRequest, then `codec`), and returns the peer. */
export async function framePeer(kernel: Kernel, url: string, options: { token?: string; codec?: string } = {}): Promise<FramePeer> {
  const transport = kernel.transport(kernel.transportNameFor(url));
  const codec: Codec = kernel.codec(options.codec ?? 'cbor');
  const connection = await transport.connect(new URL(url), { maxFrameSize: 16 * 1024 * 1024, timeoutMs: 10_000 });
  const answers = new Map<string, RuntimeMessage>();
  let authenticated: (ok: boolean) => void = () => {};
  const handshake = new Promise<boolean>((resolve) => (authenticated = resolve));
  let first = true;
  connection.start({
    onFrame(frame) {
      if (first) {
        first = false;
        authenticated(decodeHandshake(frame, 'AuthResponse').success);
        return;
      }
      const message = codec.decode(frame);
      answers.set(message.requestId, message);
    },
    onClose() {
      authenticated(false);
    },
  });
  await connection.send(
    encodeHandshake({
      type: 'AuthRequest',
      requestId: 'frame-peer',
      timestamp: Date.now(),
      metadata: {},
      instanceId: 'frame-peer',
      token: options.token ?? '',
      clientVersion: 'frame-peer',
      clientType: 'process',
      codec: codec.name,
      extraParams: {},
    }),
  );
  if (!(await handshake)) throw new Error(`frame peer: the listener at ${url} refused the handshake`);
  return {
    connection,
    answers,
    request(requestId, functionName, input) {
      const request: ExecutionRequest = {
        type: 'ExecutionRequest',
        requestId,
        timestamp: Date.now(),
        metadata: {},
        functionName,
        input,
        timeoutMs: 600_000,
      };
      return connection.send(codec.encode(request));
    },
    close: () => connection.close(),
  };
}
