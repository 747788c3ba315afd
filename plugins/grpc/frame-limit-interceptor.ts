import { ServerInterceptingCall, Status, type Metadata, type ServerInterceptor } from './grpc-library.js';

/** Set once grpc-js has refused one of the call's messages for its size: grpc-js's own status details. */
export interface RefusedFrame {
  details?: string;
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
  const refused: RefusedFrame = {};
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
