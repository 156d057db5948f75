/**
 * Time of the pipeline processors themselves (no queue), stage by stage from their progress
 * reports: the template job (real photos) and the generate job on the fixture model whose output
 * is a real face (so the post-processing numbers are real; the generation numbers are NOT those of
 * SD 1.5 — the fixture UNet is tiny; see docs/generation.md for real-model estimates).
 * Run: node bin/run-ts.js bench/pipelines.ts [rounds]
 * Wall-clock on this machine; other processes sharing the cores depress the figures.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const rounds = Number(process.argv[2] ?? 5);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fc-bench-pipelines-'));
const modelDir = path.join(tmp, 'sd');
// Settings are read once per process: set the model folder before anything reads them.
process.env.FACECHAIN_SD_MODEL_DIR = modelDir;
process.env.FACECHAIN_LOG_LEVEL = 'warn';

const { LocalArtifactStore } = await import('../core/storage/artifacts.ts');
const { writeFaceModel } = await import('../test/pipelines/face-model.ts');
const { process: prepareIdentityJob } = await import('../queue/jobs/prepare-identity.ts');
const { process: templateJob } = await import('../queue/jobs/template.ts');
const { process: generateJob } = await import('../queue/jobs/generate.ts');
const { config } = await import('../core/config.ts');

const artifacts = new LocalArtifactStore(path.join(tmp, 'artifacts'));
const USER = 'tg-1';
const photo = (f: string) => readFileSync(`test/fixtures/faces/${f}`);

function ctx<T>(name: string, data: T, identity?: unknown) {
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
      identity,
    } as never,
  };
}

function split(stages: [string, number][], end: number): Record<string, number> {
  const out: Record<string, number> = {};
  stages.forEach(([s, t], i) => {
    out[s] = (out[s] ?? 0) + ((stages[i + 1]?.[1] ?? end) - t);
  });
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(label: string, run: () => Promise<{ stages: [string, number][] }>) {
  const totals: number[] = [];
  const per: Record<string, number[]> = {};
  await run(); // warm-up: model loading
  for (let i = 0; i < rounds; i++) {
    const t0 = performance.now();
    const { stages } = await run();
    const t1 = performance.now();
    totals.push(t1 - t0);
    for (const [s, ms] of Object.entries(split(stages, t1))) {
      per[s] ??= [];
      per[s].push(ms);
    }
  }
  const parts = Object.entries(per)
    .filter(([, v]) => median(v) >= 1)
    .map(([s, v]) => `${s} ${median(v).toFixed(0)}`)
    .join(', ');
  console.log(
    `  ${label}: median ${median(totals).toFixed(0)} ms, min ${Math.min(...totals).toFixed(0)} ms  (stages, median ms: ${parts})`,
  );
}

console.log(
  `pipelines bench: ${os.availableParallelism()} cores (${os.cpus()[0]?.model.trim()}), node ${process.version}, ${rounds} rounds after a warm-up, ORT threads ${config().FACECHAIN_ORT_THREADS}`,
);
const a = await artifacts.put(USER, photo('astronaut.png'), { ext: 'png' });
const p = ctx('prepare-identity', { identityId: 'me', photos: [a.ref] });
const prepared = await prepareIdentityJob(p.ctx);
const identity = {
  id: 'me',
  status: 'prepared',
  crops: prepared.accepted,
  embedding: prepared.embedding,
  report: prepared.report,
  updatedAt: Date.now(),
};
const tpl = await artifacts.put(USER, photo('sample2.jpg'), { ext: 'jpg' });
await measure('template job (sample2.jpg, 1920x1367 group photo, face 1)', async () => {
  const c = ctx('template', { identityId: 'me', template: tpl.ref, count: 1, face: 1 }, identity);
  await templateJob(c.ctx);
  return c;
});

await writeFaceModel(modelDir, 'sample2.jpg', 1);
for (const count of [1, 4]) {
  await measure(
    `generate job, fixture model, ${config().FACECHAIN_GENERATE_CANDIDATES} candidates 512², pndm 50 steps, top ${count}`,
    async () => {
      const c = ctx(
        'generate',
        { identityId: 'me', mode: 'zero-shot', style: 'studio-headshot', count, seed: 1 },
        identity,
      );
      await generateJob(c.ctx);
      return c;
    },
  );
}
console.log(
  `  load average at end: ${os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
rmSync(tmp, { recursive: true, force: true });
process.exit(0);
