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

const SAID = /^(AuthFailed|ConnectionRefused|FrameTooLarge|Timeout): /;

const CLIENT_CERT_REFUSED =
  /alert (certificate required|bad certificate|unknown ca|certificate unknown|unsupported certificate|certificate expired|certificate revoked|access denied)|ALERT_(CERTIFICATE_REQUIRED|BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN)/i;

/** Status for a call a listener ends because of `error`: the code by the kind of failure, details `<ErrorCode>: <message>`. */
export function statusFor(error: CommunicationError): { code: Status; details: string } {
  const code =
    {
      [ErrorCode.AuthFailed]: Status.UNAUTHENTICATED,
      [ErrorCode.Timeout]: Status.DEADLINE_EXCEEDED,
      [ErrorCode.FrameTooLarge]: Status.RESOURCE_EXHAUSTED,
      [ErrorCode.DecodeFailed]: Status.INVALID_ARGUMENT,
      [ErrorCode.ConnectionRefused]: Status.UNAVAILABLE,
    }[error.code as string] ?? Status.INTERNAL;
  return { code, details: `${error.code}: ${error.message}` };
}

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
  // A spear-comm listener says why it ends a call as "<ErrorCode>: message"; these codes keep their meaning here.
  const said = status.code !== Status.OK ? (SAID.exec(status.details ?? '')?.[1] as ErrorCode | undefined) : undefined;
  const lost = established && status.code === Status.UNAVAILABLE && !said;
  // grpc-js reports a TLS alert from the listener (it refused our client certificate) as UNAVAILABLE with the alert in the details.
  const certRefused = !established && status.code === Status.UNAVAILABLE && CLIENT_CERT_REFUSED.test(status.details ?? '');
  const code = certRefused
    ? ErrorCode.AuthFailed
    : (said ?? (lost ? ErrorCode.ChannelClosed : (STATUS_TO_CODE[status.code] ?? ErrorCode.ChannelClosed)));
  const hint = lost ? 'the connection was lost' : HINTS[code];
  return new CommunicationError(
    code,
    `gRPC ${where} ended with ${Status[status.code] ?? status.code}: ${status.details || 'no details'}${hint ? ` (${hint})` : ''}`,
  );
}
