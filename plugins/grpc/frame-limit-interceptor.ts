import { ServerInterceptingCall, Status, type Metadata, type ServerInterceptor } from './grpc-library.js';

/**
 * grpc-js's innermost server call, for what grpc-js has no public API for: the HTTP/2 session
 * the call runs on (to close the whole connection of a refused peer) and the message decoder
 * (whose limit it checks against each message's length prefix, before buffering the message).
 */
export interface InnerServerCall {
  stream?: {
    session?: { close(): void; destroy(): void; closed?: boolean; destroyed?: boolean };
    on?(event: 'data', listener: () => void): unknown;
  };
  /** `readState` 0 (NO_DATA): between messages; otherwise part of a message is buffered. */
  decoder?: { maxReadMessageLength?: unknown; readState?: unknown };
  maxReceiveMessageSize?: unknown;
}

/** What the interceptor learnt about one server call. */
export interface RefusedFrame {
  /** Set once grpc-js has refused one of the call's messages for its size: grpc-js's own status details. */
  details?: string;
  /** The innermost call object (see InnerServerCall). */
  inner?: InnerServerCall;
}

const refusals = new WeakMap<Metadata, RefusedFrame>();

/**
 * Lets a server call learn that grpc-js refused one of its messages as too large.
 *
 * grpc-js checks `grpc.max_receive_message_length` against a message's length prefix before it
 * allocates the message, and then ends the call with RESOURCE_EXHAUSTED by calling `sendStatus`
 * on its innermost call object itself, which interceptors' responders never see; the handler's
 * stream only gets 'cancelled'. So this interceptor must be the first in the server's list (it
 * then wraps that innermost object) and watches that object's `sendStatus`. grpc-js reports
 * 'cancelled' on a later tick, so the refusal is known by then.
 */
export const frameLimitInterceptor: ServerInterceptor = (_method, call) => {
  const refused: RefusedFrame = { inner: call as unknown as InnerServerCall };
  const sendStatus = call.sendStatus.bind(call);
  call.sendStatus = (status) => {
    // Our own sends never exceed grpc-js's send limit (GrpcConnection refuses them first), so this is the receive limit.
    if (status.code === Status.RESOURCE_EXHAUSTED) refused.details ??= status.details ?? '';
    sendStatus(status);
  };
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: (metadata, nextMetadata) => {
          refusals.set(metadata, refused);
          nextMetadata(metadata);
        },
      }),
  });
};

/** The refusal record of the call whose request metadata this is (empty if the interceptor did not see the call). */
export function refusedFrameOf(metadata: Metadata): RefusedFrame {
  return refusals.get(metadata) ?? {};
}
