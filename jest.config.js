/** Jest: TypeScript through ts-jest; one Temporal dev server per test file (see testkit/temporal.ts). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // test/cluster/ runs on a temporal-server cluster: `npm run test:cluster` (jest.cluster.config.js).
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/cluster/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: { warnOnly: false } }] },
  globalSetup: '<rootDir>/test/global-setup.ts',
  testTimeout: 120000,
  // Two cores: more workers than that only make the dev servers fight for CPU.
  maxWorkers: 2,
  // The Temporal runtime and SDK HTTP agents keep native handles alive after the last test; they hold no state.
  forceExit: true,
};
