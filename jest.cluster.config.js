/**
 * Jest for `npm run test:cluster` (scripts/test-cluster.js): the files in test/cluster/, against the cluster that
 * script starts (TEMPORAL_ADDRESS). One file at a time: some stop and kill the cluster's nodes.
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  roots: ['<rootDir>/test/cluster'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
  testTimeout: 300000,
};
