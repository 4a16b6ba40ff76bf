import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** Resident memory in MiB, from /proc. */
export function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** Samples peak RSS of several processes until stopped; reports CPU used between start and stop. */
export class ProcessMonitor {
  private readonly cpuStart = new Map<string, number>();
  private readonly peakRss = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly pids: Record<string, number>) {}

  start(): void {
    for (const [name, pid] of Object.entries(this.pids)) this.cpuStart.set(name, cpuSeconds(pid));
    this.timer = setInterval(() => {
      for (const [name, pid] of Object.entries(this.pids)) this.peakRss.set(name, Math.max(this.peakRss.get(name) ?? 0, rssMiB(pid)));
    }, 250);
  }

  stop(elapsedSeconds: number): Record<string, { cpuSeconds: number; cpuPercent: number; peakRssMiB: number }> {
    clearInterval(this.timer);
    const out: Record<string, { cpuSeconds: number; cpuPercent: number; peakRssMiB: number }> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const used = cpuSeconds(pid) - (this.cpuStart.get(name) ?? 0);
      out[name] = { cpuSeconds: round(used), cpuPercent: round((100 * used) / elapsedSeconds), peakRssMiB: round(this.peakRss.get(name) ?? 0) };
    }
    return out;
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
