// Tracing starts before anything else is loaded (see instrument.ts).
import './instrument';
import { stopTelemetry } from '@tally/telemetry';

import { collectDefaultMetrics } from 'prom-client';
import { JsonLogger } from '@tally/telemetry';
import { loadGatewayConfig, type GatewayConfig } from './gateway-config';
import { createGateway } from './gateway-server';
import openApiDocument from './openapi/openapi.json';

const logger = new JsonLogger('gateway');
let config: GatewayConfig;
try {
  config = loadGatewayConfig();
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(78); // EX_CONFIG, as the services
}
collectDefaultMetrics();
if (!config.portalTokenSecretConfigured) logger.warn('PORTAL_TOKEN_SECRET is not set: portal tokens are signed with a random key and end when this process does');
const gateway = createGateway(config, openApiDocument, logger);
gateway.server.on('error', (e) => {
  logger.error(`gateway could not start: ${e.message}`, { port: config.port });
  process.exit(1);
});
gateway.server.listen(config.port, '0.0.0.0', () => {
  logger.info('ready', {
    port: config.port,
    url: `http://127.0.0.1:${config.port}`,
    upstreams: Object.fromEntries(Object.entries(config.upstreams).map(([name, url]) => [name, url.origin])),
  });
});

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  logger.info('stopping', { signal });
  await gateway.close();
  await stopTelemetry();
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
