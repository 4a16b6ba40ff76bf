'use strict';
// Node flags every Tally service starts with (npm start, the bench, the Dockerfile's CMD — the deploy test checks
// the Dockerfile against this list). A 32 MiB young generation (V8's 64-bit default is 16) means fewer scavenges
// promoting short-lived batch objects: measured in bench/README.md ("A runtime flag worth taking"), pipeline CPU
// per event 0.88x with peak RSS unchanged within the noise.
module.exports = { SERVICE_NODE_FLAGS: ['--max-semi-space-size=32'] };
