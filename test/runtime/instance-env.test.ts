import { describe, expect, it } from 'vitest';
import { ErrorCode } from 'spear-comm';
import { SPEAR_ENV, instanceEnvironment, readInstanceEnv } from 'spear-comm/runtime';

describe('the SPEAR_* environment', () => {
  it('round-trips what the host sets', () => {
    const settings = {
      transport: 'unix',
      address: 'unix:///tmp/s/a.sock',
      instanceId: { runtimeType: 'kubernetes' as const, instanceId: 'a/b' },
      secret: 'xyz',
      codec: 'cbor',
    };
    const env = instanceEnvironment(settings);
    expect(env[SPEAR_ENV.port]).toBe('');
    expect(readInstanceEnv(env)).toEqual(settings);
    expect(readInstanceEnv(instanceEnvironment({ ...settings, transport: 'tcp', address: 'tcp://127.0.0.1:4000', port: 4000 })).port).toBe(
      4000,
    );
  });

  it('accepts a host that sets only a type and a port, as the source system did', () => {
    const settings = readInstanceEnv({
      SPEAR_COMMUNICATION_TYPE: 'tcp',
      SPEAR_COMMUNICATION_PORT: '5123',
      SPEAR_INSTANCE_ID: 'i',
      SPEAR_SECRET: 's',
    });
    expect(settings).toEqual({
      transport: 'tcp',
      address: 'tcp://127.0.0.1:5123',
      port: 5123,
      instanceId: { runtimeType: 'process', instanceId: 'i' },
      secret: 's',
      codec: 'json',
    });
  });

  it('names every variable that is missing or wrong', () => {
    let error: unknown;
    try {
      readInstanceEnv({ SPEAR_RUNTIME_TYPE: 'vm', SPEAR_COMMUNICATION_PORT: 'eighty' });
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: ErrorCode.ChannelCreationFailed });
    const message = (error as Error).message;
    for (const problem of [
      'SPEAR_INSTANCE_ID is not set',
      'SPEAR_SECRET is not set',
      'SPEAR_RUNTIME_TYPE is "vm"',
      'SPEAR_COMMUNICATION_PORT is "eighty"',
      'SPEAR_COMMUNICATION_ADDRESS is not set',
    ]) {
      expect(message).toContain(problem);
    }
  });
});
