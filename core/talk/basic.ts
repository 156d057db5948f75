/**
 * The basic animator (CPU, every deployment): the portrait's face crop is re-drawn for every
 * frame by piecewise-affine warping over a rig of its 68 landmarks (jaw and lips driven by the
 * speech, eyelids by a blink schedule, an optional slight head motion), and an opened mouth gets
 * a dark cavity with teeth painted in. It is what the reply calls "the basic animator"; it makes
 * no claim to be a neural talking-head model.
 */
import { throwIfAborted } from '../../base/errors.ts';
import { talkCrop } from './crop.ts';
import { EyelidPainter } from './eyelids.ts';
import { checkInput, yieldToEventLoop } from './input.ts';
import { MeshWarp } from './mesh-warp.ts';
import { headAt, type MotionTrack, motionForCrop } from './motion.ts';
import { MouthPainter } from './mouth.ts';
import { FaceRig, innerGap } from './rig.ts';
import { type Animation, type AnimationEngine, type AnimationInput, frameCountFor } from './types.ts';

/** Frames made between yields to the event loop. */
const FRAMES_PER_YIELD = 4;

export interface BasicPlan {
  rig: FaceRig;
  motion: MotionTrack;
  /** The still crop every frame starts from (size x size RGB). */
  base: Uint8Array;
}

export class BasicEngine implements AnimationEngine {
  readonly name = 'basic' as const;
  readonly label = 'basic animator';
  /** The last plan made (for tests and figures: where the rig was and what the motion was). */
  lastPlan?: BasicPlan;

  async animate(input: AnimationInput): Promise<Animation> {
    const o = checkInput(input);
    const { size, fps } = o;
    const crop = talkCrop(o.portrait, o.landmarks, size);
    const rig = new FaceRig(crop.landmarks, size);
    const frameCount = frameCountFor(o.durationS, fps);
    const motion = motionForCrop(crop.landmarks, {
      audio: o.audio,
      timing: o.timing,
      fps,
      frames: frameCount,
      seed: o.seed,
      headMotion: o.headMotion,
    });
    const base = crop.image.data;
    this.lastPlan = { rig, motion, base };
    const warp = new MeshWarp(crop.image, rig.source, rig.triangles);
    const active = o.headMotion ? union(rig.faceTriangles, rig.headTriangles) : rig.faceTriangles;
    const painter = new MouthPainter(rig.axes);
    const lids = new EyelidPainter(base, size, rig.source);
    const pts = new Float64Array(rig.source.length);
    const { signal, onProgress } = o;

    async function* frames(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < frameCount; i++) {
        throwIfAborted(signal);
        rig.pose(
          {
            open: motion.open[i]!,
            width: motion.width[i]!,
            blink: motion.blink[i]!,
            head: o.headMotion ? headAt(motion, i) : undefined,
          },
          pts,
        );
        const frame = base.slice();
        warp.render(pts, frame, active);
        // The cavity fades in over the first pixels of opening beyond the portrait's own gap.
        const added = innerGap(pts) - rig.restGap;
        const strength = Math.max(0, Math.min(1, (added - 0.5) / 2.5));
        const teeth = Math.min(added * 0.3, rig.mouthWidth * 0.1);
        painter.paint(frame, size, size, pts, strength, teeth);
        lids.paint(frame, size, size, pts, motion.blink[i]!);
        onProgress?.((i + 1) / frameCount);
        yield frame;
        if (i % FRAMES_PER_YIELD === FRAMES_PER_YIELD - 1) await yieldToEventLoop();
      }
    }

    return { engine: 'basic', width: size, height: size, fps, frameCount, frames: frames() };
  }

  async dispose(): Promise<void> {}
}

function union(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! | b[i]!;
  return out;
}
