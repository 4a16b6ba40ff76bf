'use strict';
// Where the one-machine set-up keeps what it fetches and generates (git-ignored).
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stateDir = path.join(root, '.tally');
const kafkaDir = path.join(stateDir, 'kafka');

module.exports = {
  root,
  stateDir,
  kafkaDir,
  kafkaLibs: path.join(kafkaDir, 'libs'),
  kafkaData: path.join(kafkaDir, 'data'),
  kafkaLogs: path.join(kafkaDir, 'logs'),
  kafkaPidFile: path.join(kafkaDir, 'broker.pid'),
  kafkaPort: Number(process.env.TALLY_KAFKA_PORT || 9092),
  kafkaControllerPort: Number(process.env.TALLY_KAFKA_CONTROLLER_PORT || 9093),
  pgUrlDefault: process.env.TALLY_LOCAL_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
};
