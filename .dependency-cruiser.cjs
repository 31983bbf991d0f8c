/**
 * The layer table of docs/architecture.md ("Layers"), enforced: `npm run lint` runs
 * `depcruise src --config .dependency-cruiser.cjs`. Each rule names the row it checks.
 * Known debt is listed where a rule has an exception; remove the exception with the debt.
 */
/** npm packages by name, wherever node_modules resolves to (it may be a symlink). */
const packages = (...names) => `(^|/)node_modules/(${names.join('|')})/`;
const DRIVERS = packages('knex', 'knex-pglite', 'pg', 'pg-copy-streams', 'ioredis', '@electric-sql/pglite');
const NPM = ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-imports-only-domain',
      comment: 'src/domain/ imports nothing of ours but itself: it declares the ports storage implements.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^src/', pathNot: '^src/domain/' },
    },
    {
      name: 'domain-no-frameworks',
      comment:
        'src/domain/ never imports koa, oidc-provider, knex, ioredis, a database driver, or a network client ' +
        '(openid-client, nodemailer, rate-limiter-flexible): those live in adapter rooms (storage/, mail/, federation/).',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: {
        dependencyTypes: NPM,
        path: [
          packages(
            'koa',
            '@koa/router',
            'koa-compose',
            'oidc-provider',
            'openid-client',
            'nodemailer',
            'rate-limiter-flexible',
          ),
          DRIVERS,
        ],
      },
    },
    {
      name: 'observability-is-a-leaf',
      comment: 'src/observability/ (logger, metrics, health, fault points) imports nothing of ours.',
      severity: 'error',
      from: { path: '^src/observability/' },
      to: { path: '^src/', pathNot: '^src/observability/' },
    },
    {
      name: 'project-paths-is-a-leaf',
      comment:
        'src/project-paths.ts (where views, password lists and migrations are, under tsx and built) imports nothing of ours.',
      severity: 'error',
      from: { path: '^src/project-paths\\.ts$' },
      to: { path: '^src/', pathNot: '^src/project-paths\\.ts$' },
    },
    {
      name: 'config-imports-only-zod-and-fault-points',
      comment: 'src/config/ is one zod schema; it may name the fault points, nothing else of ours.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(config/|observability/fault-points\\.ts$)' },
    },
    {
      name: 'config-npm-only-zod',
      comment: 'src/config/ depends on zod alone among packages (Node built-ins are fine).',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { dependencyTypes: NPM, pathNot: packages('zod') },
    },
    {
      name: 'storage-imports-no-upper-layer',
      comment:
        'src/storage/ implements domain ports: it may import domain, observability and project-paths, never http, oidc, config, cli or the composition root.',
      severity: 'error',
      from: { path: '^src/storage/' },
      to: { path: '^src/', pathNot: '^src/(storage|domain|observability)/|^src/project-paths\\.ts$' },
    },
    {
      name: 'http-imports-no-storage',
      comment: 'src/http/ reaches storage only through domain services and oidc (the composition root wires them).',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(storage|config|cli)/|^src/(app|main)\\.ts$' },
    },
    {
      name: 'oidc-imports-storage-ports-only',
      comment:
        'src/oidc/ may name storage types (ports: OidcAdapter) but may not call storage internals; ' +
        'request-scoped storage work goes through the ports in domain/tokens/token-request-storage.ts.',
      severity: 'error',
      from: { path: '^src/oidc/' },
      to: { path: '^src/storage/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'oidc-imports-no-upper-layer',
      comment: 'src/oidc/ never imports http, cli or the composition root (config: types only).',
      severity: 'error',
      from: { path: '^src/oidc/' },
      to: { path: '^src/(http|cli)/|^src/(app|main)\\.ts$' },
    },
    {
      name: 'oidc-config-types-only',
      comment: 'src/oidc/ receives typed config; it never loads it.',
      severity: 'error',
      from: { path: '^src/oidc/' },
      to: { path: '^src/config/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'admin-and-public-apps-apart',
      comment: 'The admin and public servers never import each other (an admin route cannot land on the public port).',
      severity: 'error',
      from: { path: '^src/http/admin/' },
      to: { path: '^src/http/public/' },
    },
    {
      name: 'public-and-admin-apps-apart',
      comment: 'The admin and public servers never import each other.',
      severity: 'error',
      from: { path: '^src/http/public/' },
      to: { path: '^src/http/admin/' },
    },
    {
      name: 'oidc-provider-in-three-places',
      comment:
        'oidc-provider is touched in oidc/ (configure), the interaction routes and storage/oidc-adapters/ (its Adapter) only, plus the composition root.',
      severity: 'error',
      from: { pathNot: '^src/(oidc/|http/public/interactions/|storage/oidc-adapters/|app\\.ts$)' },
      to: { path: packages('oidc-provider') },
    },
    {
      name: 'drivers-only-in-storage',
      comment: "Database and Redis drivers are storage's business; everyone else uses its ports.",
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/storage/' },
      to: { dependencyTypes: NPM, path: DRIVERS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular',
      comment: 'A cycle means two modules are one; merge them or move what they share down a layer.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
