/**
 * Generation engine figures (fixture models; real SD weights are not available on this machine).
 *
 *   node --expose-gc bin/run-ts.js bench/diffusion.ts [--steps 200] [--model <dir>]
 *
 * --model runs part 2 on a real diffusers ONNX export instead of the fixture (on a GPU host set
 * FACECHAIN_EXECUTION_PROVIDERS=cuda,cpu): FaceChain's settings, dpm-single 40 steps and PNDM 50
 * steps, CFG 7, 512x512, model/own time split.
 *
 * 1. Per-step overhead of the TypeScript side for 64x64x4 latents (512x512 images) with CFG:
 *    scaling the input, batching [uncond, cond], guidance, the scheduler step, progress — with
 *    the model replaced by a function that returns a fixed output (no model time at all).
 *    Target: <= 0.5 ms per step. Heap and RSS before/after 200 steps show whether memory stays flat.
 * 2. The full pipeline on the oracle fixture at 512x512 (real ONNX Runtime sessions): wall time
 *    split into model time (inside OnnxSession.run, which includes its input checks) and the
 *    project's own time (tokenising, guidance, schedulers, conversions, VAE post-processing, PNG).
 * The fixture UNet is tiny, so (2) says nothing about real SD speed; see docs/generation.md for
 * published GPU figures. Other helpers share this machine's cores: figures may be depressed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Quiet the pipeline's info logs unless asked for (set before the modules read the config).
process.env.FACECHAIN_LOG_LEVEL ??= 'warn';
const { denoise } = await import('../core/diffusion/denoise.ts');
const { SdPipeline } = await import('../core/diffusion/generate.ts');
const { applyGuidance } = await import('../core/diffusion/guidance.ts');
const { SeededNoise } = await import('../core/diffusion/noise.ts');
const { createScheduler, SAMPLERS, SD15_SCHEDULER } = await import('../core/diffusion/schedulers/index.ts');
const { writeFixtureSdModel } = await import('../models/fixtures/sd.ts');

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const STEPS = Number(arg('--steps', '200'));
const gc = (globalThis as { gc?: () => void }).gc;
const mb = (n: number): string => `${(n / 1048576).toFixed(2)} MB`;

console.log(`cores: ${os.availableParallelism()} (shared with other work; figures may be depressed)`);
console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'}`);
if (!gc) console.log('(run with node --expose-gc for exact heap figures)');

// 1. Per-step TypeScript overhead, model excluded.
const h = 64;
const w = 64;
const n = 4 * h * w;
console.log(
  `\n1. per-step overhead, ${h}x${w}x4 latents, CFG batch 2, ${STEPS} steps (model replaced by a fixed output)`,
);
const fixedOut = new Float32Array(2 * n).map((_, k) => Math.sin(k) * 0.5);
for (const name of SAMPLERS) {
  const maxSteps = name === 'lcm' ? 50 : STEPS;
  const batchIn = new Float32Array(2 * n);
  const eps = new Float32Array(n);
  const run = async (): Promise<number> => {
    const s = createScheduler(name, SD15_SCHEDULER);
    s.setTimesteps(maxSteps);
    const noise = new SeededNoise(1);
    const latents = new Float32Array(n);
    noise.fill(latents);
    const t0 = performance.now();
    await denoise({
      scheduler: s,
      latents,
      h,
      w,
      noise,
      predict: async (input) => {
        batchIn.set(input, 0);
        batchIn.set(input, n);
        return applyGuidance(fixedOut, 7.5, 0, eps);
      },
      onStep: () => {},
    });
    return (performance.now() - t0) / (s.timesteps.length - s.beginIndex);
  };
  await run(); // warm-up (JIT)
  gc?.();
  const heap0 = process.memoryUsage();
  // Five runs: the best shows the code's cost, the median what a busy shared machine gives.
  const times: number[] = [];
  for (let r = 0; r < 5; r++) times.push(await run());
  times.sort((a, b) => a - b);
  gc?.();
  const heap1 = process.memoryUsage();
  console.log(
    `  ${name.padEnd(15)} best ${times[0].toFixed(3)} / median ${times[2].toFixed(3)} ms/step over ${maxSteps} steps   ` +
      `heap ${mb(heap0.heapUsed)} → ${mb(heap1.heapUsed)}   rss ${mb(heap0.rss)} → ${mb(heap1.rss)}`,
  );
}

// Memory over a long run: heap sampled every 50 steps.
{
  const s = createScheduler('dpm++2m-karras', SD15_SCHEDULER);
  s.setTimesteps(STEPS);
  const noise = new SeededNoise(2);
  const latents = new Float32Array(n);
  noise.fill(latents);
  const eps = new Float32Array(n);
  const samples: string[] = [];
  await denoise({
    scheduler: s,
    latents,
    h,
    w,
    noise,
    predict: async () => applyGuidance(fixedOut, 7.5, 0.7, eps),
    onStep: (p) => {
      if (p.step % 50 === 0) {
        gc?.();
        samples.push(`${p.step}: ${mb(process.memoryUsage().heapUsed)}`);
      }
    },
  });
  console.log(`  heap during ${STEPS} steps (dpm++2m-karras, rescale 0.7): ${samples.join(', ')}`);
}

// 2. End-to-end pipeline: the fixture, or a real export given with --model.
const realModel = process.argv.includes('--model') ? arg('--model', '') : undefined;
const dir = realModel ?? mkdtempSync(path.join(os.tmpdir(), 'fc-bench-sd-'));
try {
  if (!realModel) writeFixtureSdModel(dir);
  const pipe = realModel ? SdPipeline.open(dir) : SdPipeline.open(dir, { providers: ['cpu'], threads: 1 });
  const t0 = performance.now();
  await pipe.load();
  console.log(
    `\n2. ${realModel ? `model ${realModel}` : 'fixture pipeline'} 512x512 (session load ${(performance.now() - t0).toFixed(0)} ms)`,
  );
  const runs = realModel
    ? ([
        ['dpm-single', 40],
        ['pndm', 50],
      ] as const)
    : ([
        ['dpm++2m-karras', 25],
        ['euler-a', 30],
        ['pndm', 50],
        ['lcm', 4],
      ] as const);
  for (const [sampler, steps] of runs) {
    const opts = {
      prompt: 'a (photo:1.2) of a red cat, studio light',
      negativePrompt: 'photo, blurry',
      width: 512,
      height: 512,
      steps,
      sampler,
      guidanceScale: sampler === 'lcm' ? 1 : realModel ? 7 : 7.5,
      seed: 1,
    };
    await pipe.generate(opts); // warm-up
    const r = await pipe.generate(opts);
    const t = r.metadata.timings;
    console.log(
      `  ${sampler.padEnd(15)} ${steps} steps: total ${t.totalMs.toFixed(0)} ms = model ${t.modelMs.toFixed(0)} ms + own ${t.ownMs.toFixed(0)} ms ` +
        `(text ${t.textMs.toFixed(1)}, denoise ${t.denoiseMs.toFixed(0)}, vae ${t.vaeMs.toFixed(0)}, png ${t.pngMs.toFixed(0)} ms)`,
    );
  }
  if (realModel) {
    await pipe.close();
    process.exit(0);
  }
  // Memory over a long run with the real UNet session: 200 steps at 512x512 with CFG through
  // UnetRunner + guidance + scheduler + denoise (the pipeline caps user requests at 150 steps).
  {
    const { UnetRunner } = await import('../core/diffusion/unet.ts');
    const unet = new UnetRunner(await pipe.folder.session('unet'), 4);
    const s = createScheduler('euler', SD15_SCHEDULER);
    s.setTimesteps(200);
    const noise = new SeededNoise(4);
    const latents = new Float32Array(n);
    noise.fill(latents);
    const ehs = new Float32Array(2 * 77 * 768);
    const batchIn = new Float32Array(2 * n);
    const eps = new Float32Array(n);
    const mem: string[] = [];
    await denoise({
      scheduler: s,
      latents,
      h,
      w,
      noise,
      predict: async (input, i) => {
        batchIn.set(input, 0);
        batchIn.set(input, n);
        const out = await unet.predict(batchIn, 2, h, w, s.timesteps[i], ehs, 77);
        return applyGuidance(out, 7.5, 0, eps);
      },
      onStep: (p) => {
        if (p.step === 1 || p.step % 50 === 0) {
          gc?.();
          const m = process.memoryUsage();
          mem.push(`${p.step}: heap ${mb(m.heapUsed)}, rss ${mb(m.rss)}`);
        }
      },
    });
    console.log(`  200 UNet steps with ONNX Runtime (euler, CFG): ${mem.join(' | ')}`);
  }
  await pipe.close();
} finally {
  if (!realModel) rmSync(dir, { recursive: true, force: true });
}
