import { afterAll, describe, it } from 'vitest';
import { generate } from 'selfsigned';
import { ALL_CASES, runConformance } from 'spear-comm/conformance';
import { NATS_SERVER_INSTALL, startNatsServer } from 'spear-comm/plugins/nats';
import { HAVE_NATS_SERVER } from './support.js';

// The whole kit against a real nats-server on loopback, then framing and certificate refusal over natss://.
if (HAVE_NATS_SERVER) {
  const plain = await startNatsServer();
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'spear-nats-tls-'));
  writeFileSync(join(dir, 'cert.pem'), pems.cert);
  writeFileSync(join(dir, 'key.pem'), pems.private);
  const secure = await startNatsServer({ tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') } });
  afterAll(async () => {
    await Promise.all([plain.stop(), secure.stop()]);
  });
  let n = 0;
  await runConformance({ transport: 'nats', address: () => `${plain.url}/spear.kit.${++n}` });
  const TLS_CASES = ALL_CASES.filter((c) => c.category === 'framing' || c.name.includes('does not trust the server certificate'));
  await runConformance(
    {
      transport: 'nats',
      address: () => `natss://127.0.0.1:${secure.port}/spear.kit.tls.${++n}`,
      tls: { listen: { ca: pems.cert }, connect: { ca: pems.cert } },
    },
    { names: TLS_CASES.map((c) => c.name) },
  );
} else {
  describe.skip(`nats conformance — skipped: nats-server is not on PATH; install it: ${NATS_SERVER_INSTALL}`, () => {
    it('runs the kit against nats', () => {});
  });
}
