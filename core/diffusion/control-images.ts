/**
 * The ControlNet stage before denoising: each requested ControlNet's runner, its conditioning
 * image resized to the output size (Canny edges computed here when asked) in [0, 1] NCHW, and
 * its scale.
 */
import { resizeRgb } from '../image/codec.ts';
import { canny } from './canny.ts';
import type { ControlInput, ControlNetRunner } from './controlnet.ts';
import { bad, type ControlSpec } from './options.ts';
import { rgbToPlanar } from './vae.ts';

export async function prepareControls(
  specs: readonly ControlSpec[],
  width: number,
  height: number,
  runnerFor: (model: string) => Promise<ControlNetRunner>,
): Promise<ControlInput[]> {
  const controls: ControlInput[] = [];
  for (const c of specs) {
    const scale = c.scale ?? 1;
    if (!(scale >= 0 && scale <= 2))
      bad('bad_control_scale', `Control scale must be from 0 to 2 (got ${scale}).`);
    const runner = await runnerFor(c.model);
    let img = await resizeRgb(c.image, width, height);
    if (c.preprocess === 'canny') img = canny(img);
    controls.push({ runner, image: rgbToPlanar(img, 0, 1), scale });
  }
  return controls;
}
