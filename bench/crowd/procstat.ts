/**
 * CPU, memory and open files of the stack's processes, read from /proc (Linux): utime+stime from
 * /proc/<pid>/stat, VmRSS from /proc/<pid>/status, the entries of /proc/<pid>/fd.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** USER_HZ: clock ticks per second of /proc/<pid>/stat (100 on every Linux that matters). */
const TICKS = 100;

export interface ProcSample {
  name: string;
  pid: number;
  /** Seconds since the sampler started. */
  t: number;
  cpuSeconds: number;
  rssMb: number;
  fds: number;
  threads: number;
  /** V8 heap in use and memory outside it (buffers, native), from the process's /metrics. */
  heapMb?: number;
  externalMb?: number;
}

export function readProc(pid: number): Omit<ProcSample, 'name' | 'pid' | 't'> | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start at ") ".
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuSeconds = (Number(f[11]) + Number(f[12])) / TICKS;
    const threads = Number(f[17]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    let fds = 0;
    try {
      fds = readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      fds = -1;
    }
    return { cpuSeconds, rssMb: rssKb / 1024, fds, threads };
  } catch {
    return undefined; // gone
  }
}

export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private timer?: NodeJS.Timeout;
  private readonly t0 = performance.now();

  constructor(
    private readonly pids: () => Array<{ name: string; pid: number }>,
    private readonly everyMs: number,
    private readonly metricsPort: (name: string) => number | undefined = () => undefined,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
    return this;
  }

  sample(): void {
    const t = (performance.now() - this.t0) / 1000;
    for (const { name, pid } of this.pids()) {
      const s = readProc(pid);
      if (!s) continue;
      const sample: ProcSample = { name, pid, t, ...s };
      this.samples.push(sample);
      const port = this.metricsPort(name);
      if (port) void heapOf(port).then((h) => Object.assign(sample, h));
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  /** Per process name: CPU seconds used (summed over restarts), peak and last RSS, fds first → last. */
  summary(): Array<{
    name: string;
    cpuSeconds: number;
    cpuShare: number;
    rssPeakMb: number;
    rssLastMb: number;
    fdsFirst: number;
    fdsLast: number;
    fdsMax: number;
    restarts: number;
  }> {
    const names = [...new Set(this.samples.map((s) => s.name))];
    return names.map((name) => {
      const mine = this.samples.filter((s) => s.name === name);
      const byPid = new Map<number, ProcSample[]>();
      for (const s of mine) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
      // CPU used during the run: the first process's start-up before the first sample is left
      // out; a restarted process's start-up is part of the run.
      const cpuSeconds = [...byPid.values()].reduce(
        (a, l, i) => a + l[l.length - 1].cpuSeconds - (i === 0 ? l[0].cpuSeconds : 0),
        0,
      );
      const span = mine[mine.length - 1].t - mine[0].t || 1;
      return {
        name,
        cpuSeconds,
        cpuShare: cpuSeconds / span,
        rssPeakMb: Math.max(...mine.map((s) => s.rssMb)),
        rssLastMb: mine[mine.length - 1].rssMb,
        fdsFirst: mine[0].fds,
        fdsLast: mine[mine.length - 1].fds,
        fdsMax: Math.max(...mine.map((s) => s.fds)),
        restarts: byPid.size - 1,
      };
    });
  }
}

/** Least-squares slope of y over x (units of y per unit of x). */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den ? num / den : 0;
}

/** JS heap and external memory from a process's Prometheus endpoint (prom-client's defaults). */
async function heapOf(port: number): Promise<{ heapMb?: number; externalMb?: number }> {
  try {
    const text = await (
      await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) })
    ).text();
    const num = (name: string) => Number(new RegExp(`^${name} ([0-9.e+]+)`, 'm').exec(text)?.[1]);
    const heap = num('facechain_nodejs_heap_size_used_bytes');
    const ext = num('facechain_nodejs_external_memory_bytes');
    return {
      ...(Number.isFinite(heap) ? { heapMb: heap / 1048576 } : {}),
      ...(Number.isFinite(ext) ? { externalMb: ext / 1048576 } : {}),
    };
  } catch {
    return {};
  }
}
