require('../../tools/register.js');
module.exports = require('./src/lib/jest-global-teardown.ts').default;
