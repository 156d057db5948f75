/**
 * What the UX additions cost: the photo report's contact sheet for 20 photos (decode, thumbnails,
 * badges, Pango text, JPEG), one generation preview (latent preview → 256 px JPEG, the publisher's
 * per-preview work), and the dispatcher's policy checks (ban list, blocklist of 200 words) per
 * invocation. Run: node bin/run-ts.js bench/ux.ts [rounds]
 * Figures are wall-clock on this machine; other processes sharing the cores depress them.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { blockedWord, isBanned, OPEN_POLICY } from '../commands/kit/policy.ts';
import { latentPreview } from '../core/diffusion/preview.ts';
import { contactSheet } from '../core/identity/contact-sheet.ts';
import { encodeJpeg, resizeRgb } from '../core/image/codec.ts';

const rounds = Number(process.argv[2] ?? 5);
const cores = os.availableParallelism();
const photos = ['astronaut.png', 'sample2.jpg', 'messi5.jpg', 'sample4.jpg'].map(
  (f) => new Uint8Array(readFileSync(`test/fixtures/faces/${f}`)),
);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// Contact sheet of 20 photos (the most a user sends), two of three used.
const entries = Array.from({ length: 20 }, (_, i) => ({
  bytes: photos[i % photos.length],
  name: `holiday-${i + 1}.jpg`,
  used: i % 3 !== 0,
  label: i % 3 !== 0 ? '已采用' : '3 张脸',
}));
const sheetMs: number[] = [];
let sheetBytes = 0;
for (let r = 0; r < rounds; r++) {
  const t = performance.now();
  sheetBytes = (await contactSheet(entries)).byteLength;
  sheetMs.push(performance.now() - t);
}

// One preview: the engine's latent preview of a 512² generation, scaled to 256 px and encoded.
const latents = new Float32Array(4 * 64 * 64).map((_, i) => Math.sin(i / 97));
const previewMs: number[] = [];
for (let r = 0; r < rounds * 20; r++) {
  const t = performance.now();
  const img = latentPreview(latents, 64, 64);
  await encodeJpeg(await resizeRgb(img, 256, 256), { quality: 80 });
  previewMs.push(performance.now() - t);
}

// Policy checks per invocation: a ban-list lookup and a 200-word blocklist over a 300-character prompt.
const policy = {
  ...OPEN_POLICY,
  bannedUsers: new Set(Array.from({ length: 1000 }, (_, i) => `telegram:${i}`)),
  blocklist: Array.from({ length: 200 }, (_, i) => `word${i}`),
};
const prompt = 'smiling, red scarf, golden hour light, '.repeat(8).slice(0, 300);
const n = 20_000;
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  isBanned(policy, { user: { platform: 'telegram', id: String(5000 + i) } });
  blockedWord(policy, [prompt]);
}
const policyUs = ((performance.now() - t0) / n) * 1000;

process.stdout.write(
  `contact sheet, 20 photos (${cores} cores): median ${median(sheetMs).toFixed(0)} ms, ${(sheetBytes / 1024).toFixed(0)} KB JPEG\n` +
    `generation preview (latent → 256 px JPEG, ${cores} cores): median ${median(previewMs).toFixed(2)} ms\n` +
    `policy checks per invocation (1000 bans, 200 words, 300-char prompt, ${cores} cores): ${policyUs.toFixed(1)} µs\n`,
);
