'use strict';
// The script each worker thread of the single-process host (tools/single-process.js) runs: it loads one
// service's entry exactly as its own process would (the same main, the same preloads), so the service reads
// its configuration from this worker's own process.env, registers its metrics in this thread's own prom-client
// registry and starts its own OpenTelemetry SDK.
const { parentPort, workerData } = require('node:worker_threads');

// Signals reach only the main thread; the host forwards a stop as a message. The service's own SIGTERM handler
// (runService, the gateway's main) then closes it and calls process.exit(0), which ends this thread alone.
// A stop that comes before the service has registered its handler (still starting) is delivered as soon as it
// does, so a service is never cut off mid-start by a graceful stop.
let stopRequested;
process.on('newListener', (event) => {
  if (event === stopRequested) setImmediate(() => process.emit(event, event));
});
parentPort.on('message', (message) => {
  if (message?.type !== 'stop' || stopRequested) return;
  stopRequested = message.signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
  if (process.listenerCount(stopRequested) > 0) process.emit(stopRequested, stopRequested);
});
// The port must not keep a service alive that has nothing else to do (it would hide a service that stopped).
parentPort.unref();

for (const file of workerData.preload) require(file);
require(workerData.entry);
