/**
 * A soak's verdict: slopes per hour after the warm-up (the first fifth of the run) of each
 * process's RSS and open files, of Redis memory and keys, and of each kind of key, split into
 * keys that expire (they level off after their TTL, by design) and keys that never do.
 */
import { slope } from './procstat.ts';
import type { CrowdReport } from './run.ts';

export const RSS_TARGET_MB_PER_HOUR = 5;

export interface SoakFigures {
  warmupSeconds: number;
  processes: Array<{
    name: string;
    rssMbPerHour: number;
    heapMbPerHour: number;
    /** RSS slope over the second half of the run only. */
    rssMbPerHourLastHalf: number;
    fdsPerHour: number;
    rssFirstMb: number;
    rssLastMb: number;
  }>;
  redisMemoryMbPerHour: number;
  redisKeysPerHour: number;
  /** kind → slope per hour of [expiring, never expiring] keys, and the last counts. */
  kinds: Array<{ kind: string; expiringPerHour: number; persistentPerHour: number; last: [number, number] }>;
  streams: Array<{ stream: string; first: number; last: number; max: number }>;
}

export function soakFigures(r: CrowdReport): SoakFigures {
  const end = Math.max(...r.procSamples.map((s) => s.t), 1);
  const warmupSeconds = end / 5;
  const perHour = (pts: Array<[number, number]>) => slope(pts) * 3600;
  const names = [...new Set(r.procSamples.map((s) => s.name))];
  const processes = names.map((name) => {
    // The last process of that name (a restart starts a new curve).
    const mine = r.procSamples.filter((s) => s.name === name);
    const pid = mine[mine.length - 1].pid;
    const pts = mine.filter((s) => s.pid === pid && s.t >= warmupSeconds);
    return {
      name,
      rssMbPerHour: perHour(pts.map((s) => [s.t, s.rssMb])),
      heapMbPerHour: pts.some((s) => s.heapMb !== undefined)
        ? perHour(pts.filter((s) => s.heapMb !== undefined).map((s) => [s.t, s.heapMb as number]))
        : Number.NaN,
      rssMbPerHourLastHalf: perHour(pts.filter((s) => s.t >= end / 2).map((s) => [s.t, s.rssMb])),
      fdsPerHour: perHour(pts.map((s) => [s.t, s.fds])),
      rssFirstMb: pts[0]?.rssMb ?? Number.NaN,
      rssLastMb: pts[pts.length - 1]?.rssMb ?? Number.NaN,
    };
  });
  const rs = r.redis.filter((s) => s.t >= warmupSeconds);
  const full = rs.filter((s) => s.kinds);
  const kindNames = [...new Set(full.flatMap((s) => Object.keys(s.kinds ?? {})))].sort();
  const kinds = kindNames.map((kind) => {
    const row = (s: (typeof full)[number]) => s.kinds?.[kind] ?? [0, 0];
    return {
      kind,
      expiringPerHour: perHour(full.map((s) => [s.t, row(s)[0]])),
      persistentPerHour: perHour(full.map((s) => [s.t, row(s)[1]])),
      last: row(full[full.length - 1]) as [number, number],
    };
  });
  const streamNames = [...new Set(full.flatMap((s) => Object.keys(s.streams ?? {})))].sort();
  const streams = streamNames.map((stream) => {
    const lens = full.map((s) => s.streams?.[stream] ?? 0);
    return { stream, first: lens[0] ?? 0, last: lens[lens.length - 1] ?? 0, max: Math.max(0, ...lens) };
  });
  return {
    warmupSeconds,
    processes,
    redisMemoryMbPerHour: perHour(rs.map((s) => [s.t, s.usedMemoryMb])),
    redisKeysPerHour: perHour(rs.map((s) => [s.t, s.keys])),
    kinds,
    streams,
  };
}

export function soakSlopes(r: CrowdReport): string[] {
  const s = soakFigures(r);
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–');
  const out = [`soak, after a warm-up of ${f(s.warmupSeconds, 0)} s (slopes per hour, least squares):`];
  for (const p of s.processes)
    out.push(
      `  ${p.name.padEnd(8)} rss ${f(p.rssMbPerHour).padStart(6)} MB/h (${f(p.rssFirstMb)} → ${f(p.rssLastMb)} MB; target < ${RSS_TARGET_MB_PER_HOUR}: ${Math.abs(p.rssMbPerHour) < RSS_TARGET_MB_PER_HOUR ? 'met' : 'NOT met'})  second half ${f(p.rssMbPerHourLastHalf)} MB/h  heap ${f(p.heapMbPerHour)} MB/h  open files ${f(p.fdsPerHour)}/h`,
    );
  out.push(`  redis    memory ${f(s.redisMemoryMbPerHour, 2)} MB/h, keys ${f(s.redisKeysPerHour, 0)}/h`);
  out.push('  keys by kind (expiring/h, never-expiring/h; count at the end expiring+never):');
  for (const k of s.kinds)
    out.push(
      `    ${k.kind.padEnd(40)} ${f(k.expiringPerHour, 0).padStart(6)}/h ${f(k.persistentPerHour, 0).padStart(6)}/h   ${k.last[0]}+${k.last[1]}`,
    );
  for (const st of s.streams)
    out.push(`  stream ${st.stream}: length ${st.first} → ${st.last} (max ${st.max})`);
  return out;
}
