/**
 * CPU time of this process (worker + client) and of the Temporal dev server it started, for CPU-per-run figures
 * that hold on a shared machine better than wall-clock rates do. Linux only (reads /proc); elsewhere the server's
 * figure is undefined.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** Pids of this process's children whose command line names the Temporal CLI (the dev server). */
function devServerPids(): number[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .filter((d) => {
        try {
          const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          return ppid === process.pid && readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('server\0start-dev');
        } catch {
          return false;
        }
      })
      .map(Number);
  } catch {
    return [];
  }
}

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
function procCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // utime and stime are fields 14 and 15 of stat; fields[0] here is field 3 (state).
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export interface CpuSample {
  self: number;
  server?: number;
}

export function cpuNow(): CpuSample {
  const u = process.cpuUsage();
  const pids = devServerPids();
  return { self: (u.user + u.system) / 1e6, server: pids.length ? pids.reduce((n, p) => n + procCpuSeconds(p), 0) : undefined };
}

/** CPU seconds used since `from`. */
export function cpuSince(from: CpuSample): CpuSample {
  const to = cpuNow();
  return { self: to.self - from.self, server: to.server !== undefined && from.server !== undefined ? to.server - from.server : undefined };
}

/** The machine's load averages (1, 5, 15 minutes), as `uptime` shows them. */
export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'unknown';
  }
}
