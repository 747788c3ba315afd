// Mutual TLS on tls://, wss:// and grpcs://: the listener asks for a client certificate signed by
// its CA; a client with one is served, one without a certificate or with one from another CA is
// refused with AuthFailed, and the listener serves the next good client afterwards.
import { beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, invoke } from 'spear-comm';
import { mutualTlsCerts, type MutualTlsCerts } from '../support/certs.js';
import { trackCleanups } from '../support/cleanups.js';

const { defer, kernel } = trackCleanups();
let certs: MutualTlsCerts;
beforeAll(async () => {
  certs = await mutualTlsCerts();
});

describe.each([['tls://127.0.0.1:0'], ['wss://127.0.0.1:0/spear'], ['grpcs://127.0.0.1:0']])('mutual TLS on %s', (url) => {
  it('serves a client whose certificate the CA signed and refuses the others with AuthFailed', async () => {
    const k = await kernel();
    const listener = await k.listen(url, {
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requestCert: true },
      handlers: { echo: (input) => input },
    });
    defer(() => listener.close());
    const target = listener.url.replace('127.0.0.1', 'localhost');

    const good = await k.connect(target, { tls: { ca: certs.ca, cert: certs.client.cert, key: certs.client.key }, timeoutMs: 5_000 });
    expect(await invoke(good, 'echo', Uint8Array.of(1, 2))).toEqual(Uint8Array.of(1, 2));
    await good.close();

    await expect(k.connect(target, { tls: { ca: certs.ca }, timeoutMs: 5_000 })).rejects.toMatchObject({
      code: ErrorCode.AuthFailed,
      message: expect.stringMatching(/requires a client certificate/),
    });
    await expect(
      k.connect(target, { tls: { ca: certs.ca, cert: certs.strangerClient.cert, key: certs.strangerClient.key }, timeoutMs: 5_000 }),
    ).rejects.toMatchObject({ code: ErrorCode.AuthFailed, message: expect.stringMatching(/does not trust this client's certificate/) });
    expect(listener.channels()).toHaveLength(0);

    // Refusals leave the listener serving.
    const again = await k.connect(target, { tls: { ca: certs.ca, cert: certs.client.cert, key: certs.client.key }, timeoutMs: 5_000 });
    expect(await invoke(again, 'echo', Uint8Array.of(3))).toEqual(Uint8Array.of(3));
    await again.close();
  });

  it('needs tls.ca to ask for client certificates', async () => {
    const k = await kernel();
    await expect(k.listen(url, { tls: { cert: certs.server.cert, key: certs.server.key, requestCert: true } })).rejects.toMatchObject({
      code: ErrorCode.ChannelCreationFailed,
      message: expect.stringMatching(/requestCert needs tls\.ca/),
    });
  });
});
