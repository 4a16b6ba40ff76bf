'use strict';
// `TALLY_REPLICAS=aggregation=2,threshold-alerting=2`: how many processes of each service `npm start` runs.
// Replicas share the service's consumer group (Kafka splits the partitions between them), schema and
// settings; replica n (n >= 2) listens on the service's port + 100 * (n - 1).

/** Replicas beyond this would collide with other services' ports (3001 + 100 * 9 ...) and exceed any local partition count. */
const MAX_REPLICAS = 9;
const PORT_STEP = 100;

/** Parses TALLY_REPLICAS into service -> count (every service 1 unless named); throws with a clear message. */
function parseReplicas(value, serviceNames) {
  const counts = new Map(serviceNames.map((n) => [n, 1]));
  if (value === undefined || value.trim() === '') return counts;
  const seen = new Set();
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z-]+)=(\d+)$/.exec(part);
    if (!m) throw new Error(`TALLY_REPLICAS: "${part}" is not service=count (e.g. aggregation=2)`);
    const [, name, countText] = m;
    if (!counts.has(name)) throw new Error(`TALLY_REPLICAS: unknown service "${name}" (one of ${serviceNames.join(', ')})`);
    if (seen.has(name)) throw new Error(`TALLY_REPLICAS: "${name}" is named twice`);
    seen.add(name);
    const count = Number(countText);
    if (count < 1 || count > MAX_REPLICAS) throw new Error(`TALLY_REPLICAS: ${name}=${count}; between 1 and ${MAX_REPLICAS}`);
    counts.set(name, count);
  }
  return counts;
}

/** One entry per process: replica 0 keeps the service's name and port, the others are "name#n" on port + 100 * (n - 1). */
function expandReplicas(services, counts) {
  return services.flatMap((svc) =>
    Array.from({ length: counts.get(svc.name) ?? 1 }, (_, i) => ({ ...svc, replica: i, label: i === 0 ? svc.name : `${svc.name}#${i + 1}`, logName: i === 0 ? svc.name : `${svc.name}-${i + 1}` })),
  );
}

module.exports = { parseReplicas, expandReplicas, MAX_REPLICAS, PORT_STEP };
