// `npm run --silent price`: the charge simulator. Reads one JSON request a line on stdin,
// {"model": "graduated", "properties": {...}, "units": "1234.5"} (or with "events": [...]), and writes
// one JSON line per request, in order: {"amount": "...", "units": "..."} or {"error": "..."}.
// Blank lines are skipped. Parsing, pricing and formatting live in libs/pricing (simulateJsonLine).
import { createInterface } from 'node:readline';
import { simulateJsonLine } from '../libs/pricing/src';

async function main(): Promise<void> {
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    const result = simulateJsonLine(line);
    if (result !== null) process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`[price] ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
