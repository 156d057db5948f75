/** The face models as one loaded set of ONNX sessions (created once, shared by every call). */

import { OnnxSession } from '../../models/onnx.ts';
import type { ModelStore } from '../../models/store.ts';
import { config } from '../config.ts';

export const FACE_MODEL_IDS = [
  'face-detect',
  'face-landmark68',
  'face-embedding',
  'face-age',
  'face-gender',
  'face-pose',
  'face-eye',
] as const;

export type FaceModelId = (typeof FACE_MODEL_IDS)[number];

/**
 * ONNX Runtime's memory pattern off for the face models: with it, each of the seven sessions
 * keeps a planned block for its largest run, per thread. Off, they allocate from the arena as
 * they run: about 45 MB less median peak RSS for the main thread + 2 analyzers, no measurable
 * change in speed (bench/face-analysis.ts, docs/face-analysis.md).
 */
export const FACE_MEM_PATTERN = false;

export type FaceSessions = Record<FaceModelId, OnnxSession>;

export async function loadFaceSessions(store: ModelStore, threads?: number): Promise<FaceSessions> {
  const cfg = config();
  const out: Partial<FaceSessions> = {};
  for (const id of FACE_MODEL_IDS) {
    const m = store.manifest(id);
    out[id] = await OnnxSession.create(await store.path(id), {
      name: id,
      threads: threads ?? cfg.FACECHAIN_ORT_THREADS,
      providers: cfg.executionProviders,
      memPattern: FACE_MEM_PATTERN,
      expectInputs: m.inputs,
      expectOutputs: m.outputs,
    });
  }
  return out as FaceSessions;
}

export async function disposeFaceSessions(s: FaceSessions): Promise<void> {
  for (const id of FACE_MODEL_IDS) await s[id].dispose();
}
