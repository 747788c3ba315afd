import { afterAll, describe, expect, it } from 'vitest';
import {
  createKernel,
  inject,
  invoke,
  KERNEL,
  registeredTransports,
  Transport,
  unregisterTransport,
  type FrameConnection,
  type FrameListener,
  type Kernel,
  type TransportCapabilities,
  type TransportConnectOptions,
  type TransportListenOptions,
} from 'spear-comm';

// A third-party transport, defined the way a user would: a class with the decorator. It gets
// its kernel injected by token and tunnels over that kernel's memory transport, renaming the scheme.
@Transport({ name: 'tunnel-test', schemes: ['tunnel'] })
class TunnelTransport implements Transport {
  readonly capabilities: TransportCapabilities = { maxFrameSize: 1 << 20, ordered: true, reliable: true, localOnly: true };
  static instances = 0;
  constructor(@inject(KERNEL) private readonly kernel: Kernel) {
    TunnelTransport.instances++;
  }
  private inner(url: URL): [Transport, URL] {
    return [this.kernel.transport('memory'), new URL(`memory://tunnel-${url.host}`)];
  }
  connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const [t, u] = this.inner(url);
    return t.connect(u, options);
  }
  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    const [t, u] = this.inner(url);
    const inner = await t.listen(u, options);
    return { url: url.href, close: () => inner.close() };
  }
}

afterAll(() => {
  unregisterTransport('tunnel-test');
});

describe('plugin registry and decorators', () => {
  it('registers a decorated class on import and gives each kernel its own injected instance', async () => {
    expect(registeredTransports().map((t) => t.meta.name)).toContain('tunnel-test');
    const a = await createKernel();
    const b = await createKernel();
    try {
      expect(a.transports()).toContain('tunnel-test');
      expect(a.transportNameFor('tunnel://x')).toBe('tunnel-test');
      const listener = await a.listen('tunnel://svc', { handlers: { hi: () => Buffer.from('hi from tunnel') } });
      expect(listener.url).toBe('tunnel://svc');
      const channel = await a.connect('tunnel://svc');
      expect(channel.transport).toBe('tunnel-test');
      expect(Buffer.from(await invoke(channel, 'hi', new Uint8Array())).toString()).toBe('hi from tunnel');
      expect(a.transport('tunnel-test')).toBe(a.transport('tunnel-test'));
      expect(b.transport('tunnel-test')).not.toBe(a.transport('tunnel-test'));
      expect(TunnelTransport.instances).toBe(2);
      // b's tunnel reaches b's memory transport, where nothing listens.
      await expect(b.connect('tunnel://svc')).rejects.toMatchObject({ code: 'ConnectionRefused' });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('restricts a kernel to named transports', async () => {
    const k = await createKernel({ transports: ['memory'] });
    try {
      expect(k.transports()).toEqual(['memory']);
      await expect(k.connect('tunnel://svc')).rejects.toMatchObject({ code: 'UnsupportedTransport' });
    } finally {
      await k.close();
    }
  });

  it('refuses a second transport claiming a scheme another one serves, and invalid names', () => {
    expect(() =>
      Transport({ name: 'impostor', schemes: ['memory'] })(
        class {
          capabilities = {} as TransportCapabilities;
          connect = TunnelTransport.prototype.connect;
          listen = TunnelTransport.prototype.listen;
        },
      ),
    ).toThrow(/already serves/);
    expect(() => Transport({ name: 'Bad Name', schemes: ['x'] })(TunnelTransport)).toThrow(/invalid/);
    expect(() => Transport({ name: 'noscheme', schemes: [] })(TunnelTransport)).toThrow(/at least one/);
  });

  it('loads plugin modules given by path and reports a module that cannot be loaded', async () => {
    await expect(createKernel({ builtins: false, plugins: ['./no/such/plugin.js'] })).rejects.toMatchObject({
      code: 'UnsupportedTransport',
    });
  });
});
