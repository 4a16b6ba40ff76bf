// Jest loads global setup outside its module registry (no moduleNameMapper), so this shim registers
// the same TypeScript + path-alias loader the services use, then hands over to the typed setup.
require('../../tools/register.js');
module.exports = require('./src/lib/jest-global-setup.ts').default;
