/**
 * Time of the group-photo processor itself (no queue), stage by stage: 1, 2 and 4 members (the
 * same prepared face) fused into sample4.jpg (1920x1448, 4 faces) with the real face models.
 * Run: node bin/run-ts.js bench/group-photo.ts [rounds]
 * Wall-clock on this machine; other processes sharing the cores depress the figures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

process.env.FACECHAIN_LOG_LEVEL = 'warn';
const rounds = Number(process.argv[2] ?? 3);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fc-bench-group-'));

const { LocalArtifactStore } = await import('../core/storage/artifacts.ts');
const { process: prepareIdentityJob } = await import('../queue/jobs/prepare-identity.ts');
const { process: groupPhotoJob } = await import('../queue/jobs/group-photo.ts');
const { config } = await import('../core/config.ts');

const artifacts = new LocalArtifactStore(path.join(tmp, 'artifacts'));
const USER = 'tg-1';
const photo = (f: string) => readFileSync(`test/fixtures/faces/${f}`);

function ctx<T>(name: string, data: T) {
  const stages: [string, number][] = [];
  return {
    stages,
    ctx: {
      jobId: 'bench',
      requestId: 'bench',
      name,
      data: { user: USER, target: { platform: 'cli', chatId: '1', userId: '1' }, ...data },
      attempt: 1,
      signal: new AbortController().signal,
      progress: (stage: string) => {
        if (stages.at(-1)?.[0] !== stage) stages.push([stage, performance.now()]);
      },
      artifacts,
      previous: {},
    } as never,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

console.log(
  `group-photo bench: ${os.availableParallelism()} cores (${os.cpus()[0]?.model.trim()}), node ${process.version}, ${rounds} rounds after a warm-up, ORT threads ${config().FACECHAIN_ORT_THREADS}`,
);
const a = await artifacts.put(USER, photo('astronaut.png'), { ext: 'png' });
const prepared = await prepareIdentityJob(ctx('prepare-identity', { identityId: 'me', photos: [a.ref] }).ctx);
const member = {
  crops: prepared.accepted,
  report: prepared.report,
  ...(prepared.embedding ? { embedding: prepared.embedding } : {}),
};
const tpl = await artifacts.put(USER, photo('sample4.jpg'), { ext: 'jpg' });
for (const n of [1, 2, 4]) {
  const run = async () => {
    const c = ctx('group-photo', { template: tpl.ref, members: Array.from({ length: n }, () => member) });
    const t0 = performance.now();
    const r = await groupPhotoJob(c.ctx);
    const t1 = performance.now();
    const fuse = c.stages.find(([s]) => s === 'fuse')?.[1] ?? t0;
    const store = c.stages.find(([s]) => s === 'store')?.[1] ?? t1;
    return { total: t1 - t0, fuse: store - fuse, placed: (r as { placed: number }).placed };
  };
  await run(); // warm-up: model loading
  const totals: number[] = [];
  const fuses: number[] = [];
  let placed = 0;
  for (let i = 0; i < rounds; i++) {
    const m = await run();
    totals.push(m.total);
    fuses.push(m.fuse);
    placed = m.placed;
  }
  console.log(
    `  ${n} member(s) → ${placed} placed: median ${median(totals).toFixed(0)} ms (member loading + fusion ${median(fuses).toFixed(0)} ms), min ${Math.min(...totals).toFixed(0)} ms`,
  );
}
rmSync(tmp, { recursive: true, force: true });
process.exit(0);
