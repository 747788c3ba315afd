// The architecture of DESIGN.md §1, checked in CI (`npm run lint`). Paths are relative to the repo.
// Public entries: core/index.ts (spear-comm), runtime/index.ts, plugins/*/index.ts (incl. the
// transport-kit), codecs/*/index.ts (incl. the codec-kit), conformance/index.ts.
const entry = '(core|runtime|conformance)/index\\.ts$|^(plugins|codecs)/[^/]+/index\\.ts$';
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'No import circles anywhere.', from: {}, to: { circular: true } },
    {
      name: 'core-is-minimal',
      severity: 'error',
      comment: 'core/ imports no plugin, no codec, nothing from runtime/ (nor tools built on it).',
      from: { path: '^core/' },
      to: { path: '^(plugins|codecs|runtime|conformance|bench|bin|examples)/' },
    },
    {
      name: 'runtime-uses-public-entries',
      severity: 'error',
      comment: 'runtime/ reaches core, plugins and codecs only through their public entries.',
      from: { path: '^runtime/' },
      to: { path: '^(core|plugins|codecs|conformance|bench|bin)/', pathNot: `^(${entry})` },
    },
    {
      name: 'plugins-use-public-entries',
      severity: 'error',
      comment:
        "A plugin reaches anything outside its own folder only through public entries: no private door into core or another plugin's files.",
      from: { path: '^plugins/([^/]+)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(core|runtime|plugins|codecs|conformance|bench|bin)/', pathNot: [`^(${entry})`, '^plugins/$1/'] },
    },
    {
      name: 'codecs-use-public-entries',
      severity: 'error',
      comment: 'A codec reaches anything outside its own folder only through public entries.',
      from: { path: '^codecs/([^/]+)/', pathNot: ['^codecs/test-support/', '\\.test\\.ts$'] },
      to: { path: '^(core|runtime|plugins|codecs|conformance|bench|bin)/', pathNot: [`^(${entry})`, '^codecs/$1/'] },
    },
    {
      name: 'kit-and-bench-through-the-registry',
      severity: 'error',
      comment: 'conformance/ and bench/ reach transports and codecs only through the kernel/registry (or their public entries).',
      from: { path: '^(conformance|bench)/', pathNot: '\\.test\\.ts$' },
      to: { path: '^(plugins|codecs)/', pathNot: `^(${entry})` },
    },
    {
      name: 'no-test-code-in-sources',
      severity: 'error',
      comment: 'Published code never imports test files or test support.',
      from: {
        path: '^(core|runtime|plugins|codecs|conformance|bench|bin)/',
        pathNot: ['\\.test\\.ts$', '/test-support/', '^conformance/mutants/'],
      },
      to: { path: ['\\.test\\.ts$', '^test/', '/test-support/', '^conformance/mutants/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'types', 'default'],
      extensions: ['.ts', '.js', '.mjs'],
    },
  },
};
