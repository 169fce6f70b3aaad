/**
 * CPU time spent by this process and by the DynamoDB Local JVM, to tell where a phase's time
 * went (service code in Node, or the store). The JVM's share is read from /proc (Linux only;
 * null elsewhere).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** User + system CPU of this Node process, in ms. */
export const selfCpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** Kernel clock ticks per second for /proc/<pid>/stat times; 100 on every common Linux. */
const CLOCK_TICKS = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  cpuMs: number;
}

const readStat = (pid: string): ProcStat | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `comm` may contain spaces and parentheses: split after its last ')'.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const fields = text.slice(close + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return { pid: Number(pid), ppid: Number(fields[1]), comm, cpuMs: ((utime + stime) / CLOCK_TICKS) * 1000 };
  } catch {
    return undefined;
  }
};

/** Pids of this process's descendants named `java` (DynamoDB Local), or null when /proc is unavailable. */
export const findJavaDescendants = (): number[] | null => {
  if (process.platform !== 'linux') return null;
  let stats: ProcStat[];
  try {
    stats = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(readStat)
      .filter((s): s is ProcStat => s !== undefined);
  } catch {
    return null;
  }
  const descendants = new Set([process.pid]);
  for (let changed = true; changed; ) {
    changed = false;
    for (const s of stats) {
      if (!descendants.has(s.pid) && descendants.has(s.ppid)) {
        descendants.add(s.pid);
        changed = true;
      }
    }
  }
  return stats.filter((s) => s.comm === 'java' && descendants.has(s.pid)).map((s) => s.pid);
};

/** Total CPU ms of the given pids, or null when unknown. */
export const pidsCpuMs = (pids: readonly number[] | null): number | null => {
  if (pids === null || pids.length === 0) return null;
  let total = 0;
  for (const pid of pids) {
    const s = readStat(String(pid));
    if (s === undefined) return null;
    total += s.cpuMs;
  }
  return total;
};
