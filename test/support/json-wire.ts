// What a foreign client writes and reads, straight from docs/wire-format.md (DESIGN §5): JSON
// objects, bytes as base64. Deliberately independent of spear-comm's own classes.

export function authRequest(fields: { requestId: string; instanceId: string; token: string; codec?: string }): Buffer {
  return Buffer.from(
    JSON.stringify({
      type: 'AuthRequest',
      requestId: fields.requestId,
      timestamp: Date.now(),
      metadata: {},
      instanceId: fields.instanceId,
      token: fields.token,
      clientVersion: 'foreign-test/1.0',
      clientType: 'process',
      codec: fields.codec ?? 'json',
      extraParams: {},
    }),
    'utf8',
  );
}

export function executionRequest(fields: { requestId: string; functionName: string; input: Uint8Array }): Buffer {
  return Buffer.from(
    JSON.stringify({
      type: 'ExecutionRequest',
      requestId: fields.requestId,
      timestamp: Date.now(),
      metadata: {},
      functionName: fields.functionName,
      input: Buffer.from(fields.input).toString('base64'),
      timeoutMs: 5000,
    }),
    'utf8',
  );
}

export function parseJson(frame: Uint8Array): Record<string, unknown> {
  return JSON.parse(Buffer.from(frame).toString('utf8')) as Record<string, unknown>;
}
