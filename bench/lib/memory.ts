/**
 * Memory and GC probes for bench drivers (child processes): the RSS high-water mark from
 * `VmHWM` in /proc/self/status on Linux (maxRSS elsewhere), and a garbage-collection tally.
 */
import { readFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const MIB = 2 ** 20;

export const mib = (bytes: number): number => Math.round((bytes / MIB) * 10) / 10;
/** The OS's maxRSS of this process (MiB), everywhere. */
export const maxRssMib = (): number => Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10;

/** VmHWM (MiB) from /proc/self/status, or null off Linux. */
export const vmHwmMib = (): number | null => {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
};

export const HWM_SOURCE: 'VmHWM' | 'maxRSS' = vmHwmMib() === null ? 'maxRSS' : 'VmHWM';
export const peakRssMib = (): number => vmHwmMib() ?? maxRssMib();

/** Counts collections (and major ones) and their time until `stop()`. */
export const gcTally = () => {
  const gc = { count: 0, major: 0, ms: 0 };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count += 1;
      gc.ms += entry.duration;
      if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
        gc.major += 1;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  return {
    stop: () => observer.disconnect(),
    summary: () => ({ count: gc.count, major: gc.major, ms: Math.round(gc.ms) }),
  };
};
