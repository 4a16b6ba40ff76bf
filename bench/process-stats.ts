import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used so far, from /proc; undefined once it is gone. */
export function cpuSecondsOrUndefined(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  return cpuSecondsOrUndefined(pid) ?? 0;
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

export interface ProcessUsage {
  cpuSeconds: number;
  cpuPercent: number;
  peakRssMiB: number;
}

/**
 * Processes that come and go while measured (Postgres backends: a pool opens connections under load).
 * `list` names the group's pids now; each pid's CPU counts from the start (or from 0 when it appeared later)
 * to its last sample, so a backend that exits loses at most one sampling interval.
 */
export interface ProcessGroup {
  list(): Promise<number[]>;
}

/** Samples peak RSS of several processes until stopped; reports CPU used between start and stop. */
export class ProcessMonitor {
  private readonly cpuStart = new Map<string, number>();
  private readonly peakRss = new Map<string, number>();
  /** Per group, per pid: CPU at first and at last sight. */
  private readonly groupCpu = new Map<string, Map<number, { first: number; last: number }>>();
  private timer?: NodeJS.Timeout;
  private sampling?: Promise<void>;

  constructor(
    private readonly pids: Record<string, number>,
    private readonly groups: Record<string, ProcessGroup> = {},
  ) {}

  async start(): Promise<void> {
    for (const [name, pid] of Object.entries(this.pids)) this.cpuStart.set(name, cpuSeconds(pid));
    for (const name of Object.keys(this.groups)) this.groupCpu.set(name, new Map());
    await this.sampleGroups(true);
    this.timer = setInterval(() => {
      for (const [name, pid] of Object.entries(this.pids)) this.peakRss.set(name, Math.max(this.peakRss.get(name) ?? 0, rssMiB(pid)));
      this.sampling ??= this.sampleGroups(false).finally(() => (this.sampling = undefined));
    }, 250);
  }

  private async sampleGroups(atStart: boolean): Promise<void> {
    for (const [name, group] of Object.entries(this.groups)) {
      const seen = this.groupCpu.get(name)!;
      const pids = await group.list().catch(() => [] as number[]);
      let rss = 0;
      for (const pid of pids) {
        const cpu = cpuSecondsOrUndefined(pid);
        if (cpu === undefined) continue;
        const known = seen.get(pid);
        if (known) known.last = cpu;
        else seen.set(pid, { first: atStart ? cpu : 0, last: cpu });
        rss += rssMiB(pid);
      }
      this.peakRss.set(name, Math.max(this.peakRss.get(name) ?? 0, rss));
    }
  }

  async stop(elapsedSeconds: number): Promise<Record<string, ProcessUsage>> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sampleGroups(false);
    const out: Record<string, ProcessUsage> = {};
    const usage = (name: string, used: number) => ({ cpuSeconds: Math.round(used * 100) / 100, cpuPercent: round((100 * used) / elapsedSeconds), peakRssMiB: round(this.peakRss.get(name) ?? 0) });
    for (const [name, pid] of Object.entries(this.pids)) out[name] = usage(name, cpuSeconds(pid) - (this.cpuStart.get(name) ?? 0));
    for (const [name, seen] of this.groupCpu) out[name] = usage(name, [...seen.values()].reduce((sum, c) => sum + c.last - c.first, 0));
    return out;
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
