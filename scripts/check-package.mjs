#!/usr/bin/env node
// Checks the package as a user gets it: builds, packs, inspects the tarball, installs it into an
// empty project and uses it there — the README quick start, types under the README's tsconfig,
// `spear-comm conformance` against a plugin written in that project, a transport whose library is
// missing, and `spear-comm bench --quick` without and then with benny.
//
//   node scripts/check-package.mjs [--no-build] [--no-bench] [--keep]
//
// Needs the npm registry (or a warm npm cache) for the project's own installs. Exit code 0 only
// if every check passed; each check prints one line.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const work = mkdtempSync(join(tmpdir(), 'spear-comm-package-'));
const started = Date.now();
let failures = 0;

function elapsed() {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}
function pass(what) {
  console.log(`ok    ${what} (${elapsed()})`);
}
function fail(what, detail = '') {
  failures++;
  console.log(`FAIL  ${what}${detail ? `\n${detail.replace(/^/gm, '      ')}` : ''}`);
}
function check(what, condition, detail) {
  if (condition) pass(what);
  else fail(what, detail);
}
/** Runs a command; returns { code, out } with stdout and stderr together. */
function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...options,
    env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false', ...options.env },
  });
  return { code: result.status ?? 1, out: `${result.stdout ?? ''}${result.stderr ?? ''}` };
}
function npm(commandArgs, cwd) {
  return run('npm', commandArgs, { cwd });
}
function must(what, result) {
  if (result.code !== 0) {
    fail(what, result.out.slice(-4000));
    finish();
  }
  return result;
}
function finish() {
  if (!args.has('--keep')) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
  console.log(failures === 0 ? `package check passed in ${elapsed()}` : `package check: ${failures} failed (${elapsed()})`);
  process.exit(failures === 0 ? 0 : 1);
}

// 1. Build and pack.
if (!args.has('--no-build')) must('npm run build', npm(['run', 'build', '--silent'], root));
const npxHelp = run('npx', ['--no-install', 'spear-comm', '--help'], { cwd: root });
check(
  'after the build, `npx spear-comm --help` works in the repository (execute bit set)',
  npxHelp.code === 0 && npxHelp.out.includes('Usage: spear-comm'),
  npxHelp.out,
);
const packed = must('npm pack', npm(['pack', '--silent', '--pack-destination', work], root));
const tarball = join(work, packed.out.trim().split('\n').pop().trim());
const unpacked = join(work, 'unpacked');
mkdirSync(unpacked);
execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
const pkgDir = join(unpacked, 'package');
const files = [];
(function walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else files.push(relative(pkgDir, path));
  }
})(pkgDir);
console.log(`      ${tarball.split('/').pop()}: ${files.length} files, ${(statSync(tarball).size / 1024).toFixed(0)} KiB packed`);

// 2. What ships.
const forbidden = files.filter(
  (f) =>
    /(^|\/)(mutants|test-support|test)\//.test(f) ||
    /\.test\.[cm]?[jt]s/.test(f) ||
    /(^|\/)fixtures\//.test(f.replace(/^codecs\/fixtures\//, '')),
);
check('no mutants, tests, test support or test fixtures in the tarball', forbidden.length === 0, forbidden.slice(0, 20).join('\n'));
const required = [
  'dist/core/index.js',
  'dist/core/index.d.ts',
  'dist/runtime/index.js',
  'dist/plugins/transport-kit/index.js',
  'dist/codecs/codec-kit/index.js',
  'dist/conformance/index.js',
  'dist/bin/spear-comm.js',
  'proto/spear/v1/transport.proto',
  'proto/spear/v1/runtime_message.proto',
  'docs/wire-format.md',
  'README.md',
  'LICENSE',
  'CHANGELOG.md',
];
const absent = required.filter((f) => !files.includes(f));
check('entries, CLI, proto files, docs, LICENSE and CHANGELOG are in the tarball', absent.length === 0, `missing: ${absent.join(', ')}`);
const badMaps = [];
for (const map of files.filter((f) => f.endsWith('.map'))) {
  const { sources = [], sourcesContent = [] } = JSON.parse(readFileSync(join(pkgDir, map), 'utf8'));
  sources.forEach((source, i) => {
    if (typeof sourcesContent[i] !== 'string' && !existsSync(resolve(dirname(join(pkgDir, map)), source)))
      badMaps.push(`${map} -> ${source}`);
  });
}
check('every source map carries or finds its sources', badMaps.length === 0, badMaps.slice(0, 10).join('\n'));
const designCites = files
  .filter((f) => /\.(js|d\.ts|md)$/.test(f))
  .filter((f) => /DESIGN(\.md)? §/.test(readFileSync(join(pkgDir, f), 'utf8')));
check('no shipped file cites a "DESIGN §N" (DESIGN.md is not part of the package)', designCites.length === 0, designCites.join('\n'));
const brokenLinks = [];
for (const doc of files.filter((f) => f.endsWith('.md'))) {
  const text = readFileSync(join(pkgDir, doc), 'utf8').replace(/```[\s\S]*?```/g, '');
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
    const path = target.split('#')[0];
    if (!existsSync(resolve(dirname(join(pkgDir, doc)), decodeURIComponent(path)))) brokenLinks.push(`${doc}: ${target}`);
  }
}
check('every relative link in the shipped markdown resolves inside the package', brokenLinks.length === 0, brokenLinks.join('\n'));
const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
const heavy = ['ws', '@grpc/grpc-js', '@grpc/proto-loader', 'benny'].filter((name) => manifest.dependencies?.[name]);
check('transport libraries and benny are not hard dependencies', heavy.length === 0, heavy.join(', '));

// 3. An empty project that installs the tarball, with only the required peers.
const project = join(work, 'project');
mkdirSync(join(project, 'src'), { recursive: true });
writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }, null, 2));
const typescript = JSON.parse(readFileSync(join(root, 'node_modules', 'typescript', 'package.json'), 'utf8')).version;
const typesNode = JSON.parse(readFileSync(join(root, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version;
must(
  'npm install of the tarball with tsyringe and reflect-metadata',
  npm(
    [
      'install',
      '--prefer-offline',
      tarball,
      'tsyringe@^4.10.0',
      'reflect-metadata@^0.2.2',
      `typescript@${typescript}`,
      `@types/node@${typesNode}`,
    ],
    project,
  ),
);
pass('installed into an empty project');

// The README's tsconfig for code that uses the decorators.
writeFileSync(
  join(project, 'tsconfig.json'),
  JSON.stringify(
    {
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        types: ['node'],
        strict: true,
        experimentalDecorators: true,
        emitDecoratorMetadata: true,
        rootDir: 'src',
        outDir: 'dist',
      },
      include: ['src'],
    },
    null,
    2,
  ),
);
// The README quick start, as it is written there.
const readme = readFileSync(join(pkgDir, 'README.md'), 'utf8');
const quickStart = /## Quick start\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
check('the README has a quick start', quickStart !== undefined);
writeFileSync(join(project, 'src', 'quick-start.ts'), quickStart ?? '');
// A tiny transport plugin of the project's own, built on the transport kit.
writeFileSync(
  join(project, 'src', 'loop-transport.ts'),
  `import { createServer, connect, type AddressInfo } from 'node:net';
import {
  CommunicationError, ErrorCode, Transport,
  type FrameConnection, type FrameListener, type TransportCapabilities, type TransportConnectOptions, type TransportListenOptions,
} from 'spear-comm';
import type { ConformanceHints } from 'spear-comm/conformance';
import { StreamFrameConnection, listenStreamServer, whenSocketConnected } from 'spear-comm/transport-kit';

/** loop://127.0.0.1:PORT — length-prefixed frames over loopback TCP, written outside spear-comm. */
@Transport({ name: 'loop', schemes: ['loop'] })
export class LoopTransport implements Transport {
  readonly capabilities: TransportCapabilities = { maxFrameSize: 64 * 1024 * 1024, ordered: true, reliable: true, localOnly: true };

  async connect(url: URL, options: TransportConnectOptions): Promise<FrameConnection> {
    const socket = connect({ host: '127.0.0.1', port: Number(url.port), noDelay: true });
    await whenSocketConnected(socket, { address: url.href, timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    return new StreamFrameConnection(socket, { maxFrameSize: options.maxFrameSize, localAddress: \`loop://127.0.0.1:\${socket.localPort}\`, remoteAddress: url.href });
  }

  async listen(url: URL, options: TransportListenOptions): Promise<FrameListener> {
    return listenStreamServer(createServer({ noDelay: true }), {
      maxFrameSize: options.maxFrameSize,
      ...(options.frameTimeoutMs !== undefined ? { frameTimeoutMs: options.frameTimeoutMs } : {}),
      onConnection: options.onConnection,
      ...(options.onError ? { onError: options.onError } : {}),
      bind: (server) => server.listen({ host: '127.0.0.1', port: Number(url.port || 0) }),
      url: (server) => \`loop://127.0.0.1:\${(server.address() as AddressInfo).port}\`,
      describeBindError: (error) => new CommunicationError(ErrorCode.ChannelCreationFailed, \`Cannot listen on \${url.href}: \${error.message}\`),
      addresses: (socket) => ({ localAddress: \`loop://127.0.0.1:\${socket.localPort}\`, remoteAddress: \`loop://127.0.0.1:\${socket.remotePort}\` }),
    });
  }
}

export const conformance: ConformanceHints = { loop: { address: () => 'loop://127.0.0.1:0' } };
`,
);
// What a user without ws and @grpc/grpc-js sees.
writeFileSync(
  join(project, 'src', 'without-ws.ts'),
  `import { CommunicationError, createKernel } from 'spear-comm';
const kernel = await createKernel();
let message = '';
try {
  await kernel.connect('ws://127.0.0.1:1/x');
} catch (err) {
  message = CommunicationError.is(err) ? \`\${err.code}: \${err.message}\` : String(err);
}
console.log(JSON.stringify({ transports: kernel.transports(), unavailable: kernel.unavailable.map((u) => u.module), message }));
await kernel.close();
`,
);
const tsc = run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project });
check('the project type-checks and compiles against the package (README tsconfig)', tsc.code === 0, tsc.out);
if (tsc.code !== 0) finish();

const quick = run(process.execPath, ['dist/quick-start.js'], { cwd: project, timeout: 60_000 });
check('the README quick start runs and prints HELLO', quick.code === 0 && quick.out.includes('HELLO'), quick.out);

const withoutWs = run(process.execPath, ['dist/without-ws.js'], { cwd: project, timeout: 60_000 });
let report = {};
try {
  report = JSON.parse(withoutWs.out.trim().split('\n').pop());
} catch {
  // Reported below.
}
check(
  'without ws and @grpc/grpc-js: tcp etc. load, websocket and grpc are listed in kernel.unavailable',
  report.transports?.includes('tcp') &&
    !report.transports.includes('websocket') &&
    report.unavailable?.includes('spear-comm/plugins/websocket') &&
    report.unavailable.includes('spear-comm/plugins/grpc'),
  withoutWs.out,
);
check(
  '  … and ws:// fails with UnsupportedTransport naming the package to install',
  /^UnsupportedTransport: .*npm install ws/.test(report.message ?? ''),
  withoutWs.out,
);

const bin = join(project, 'node_modules', '.bin', 'spear-comm');
const help = run(bin, ['--help'], { cwd: project });
check('`spear-comm --help` in the project', help.code === 0 && help.out.includes('conformance'), help.out);
const kit = run(bin, ['conformance', './dist/loop-transport.js'], { cwd: project, timeout: 300_000 });
const kitSummary =
  kit.out
    .split('\n')
    .find((line) => line.includes('transport(s):'))
    ?.trim() ?? '';
check(`\`spear-comm conformance ./dist/loop-transport.js\` passes (${kitSummary})`, kit.code === 0, kit.out.slice(-4000));

if (!args.has('--no-bench')) {
  const noBenny = run(bin, ['bench', '--quick'], { cwd: project, timeout: 60_000 });
  check(
    '`spear-comm bench` without benny fails with one line naming what to install',
    noBenny.code !== 0 && noBenny.out.trim().split('\n').length === 1 && noBenny.out.includes('npm install --save-dev benny'),
    noBenny.out,
  );
  must(
    'npm install benny ws @grpc/grpc-js',
    npm(['install', '--prefer-offline', 'benny@^3.7.1', 'ws@^8.18.0', '@grpc/grpc-js@^1.14.0'], project),
  );
  const benchStart = Date.now();
  const bench = run(bin, ['bench', '--quick', '--out', join(work, 'bench-results')], { cwd: project, timeout: 600_000 });
  const reports = existsSync(join(work, 'bench-results')) ? readdirSync(join(work, 'bench-results')) : [];
  check(
    `\`spear-comm bench --quick\` runs after install and writes its reports (${((Date.now() - benchStart) / 1000).toFixed(0)} s; ${reports.join(', ')})`,
    bench.code === 0 && reports.length > 0,
    bench.out.slice(-4000),
  );
}
finish();
