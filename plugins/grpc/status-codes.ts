import { Status, type StatusObject } from './grpc-library.js';
import { CommunicationError, ErrorCode } from 'spear-comm';

/** gRPC status -> CommunicationError code; anything not listed ends the channel as `ChannelClosed`. */
const STATUS_TO_CODE: Partial<Record<Status, ErrorCode>> = {
  [Status.UNAVAILABLE]: ErrorCode.ConnectionRefused,
  [Status.DEADLINE_EXCEEDED]: ErrorCode.Timeout,
  [Status.RESOURCE_EXHAUSTED]: ErrorCode.FrameTooLarge,
  [Status.UNAUTHENTICATED]: ErrorCode.AuthFailed,
  [Status.PERMISSION_DENIED]: ErrorCode.AuthFailed,
  [Status.UNIMPLEMENTED]: ErrorCode.ChannelCreationFailed,
  [Status.INVALID_ARGUMENT]: ErrorCode.DecodeFailed,
  [Status.DATA_LOSS]: ErrorCode.DecodeFailed,
  [Status.CANCELLED]: ErrorCode.ChannelClosed,
};

const HINTS: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.ConnectionRefused]: 'is a spear-comm gRPC listener running there, and does TLS (grpcs:// and tls.ca) match?',
  [ErrorCode.FrameTooLarge]: 'a frame exceeded maxFrameSize; send less per message or raise the limit',
  [ErrorCode.ChannelCreationFailed]: 'the server does not serve spear.v1.SpearTransport',
};

/**
 * The error a finished call reports. `established`: the stream was open, so UNAVAILABLE there
 * means the connection was lost, not refused.
 */
export function statusToError(status: Pick<StatusObject, 'code' | 'details'>, where: string, established: boolean): CommunicationError {
  const lost = established && status.code === Status.UNAVAILABLE;
  const code = lost ? ErrorCode.ChannelClosed : (STATUS_TO_CODE[status.code] ?? ErrorCode.ChannelClosed);
  const hint = lost ? 'the connection was lost' : HINTS[code];
  return new CommunicationError(
    code,
    `gRPC ${where} ended with ${Status[status.code] ?? status.code}: ${status.details || 'no details'}${hint ? ` (${hint})` : ''}`,
  );
}
