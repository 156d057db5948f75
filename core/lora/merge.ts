/**
 * Merge LoRAs into an ONNX model's weights (W += m·(α/r)·up·down for every matched layer, several
 * LoRAs at once), producing a new model to load as its own session. The cheaper per-request path
 * is core/lora/switcher.ts; this one suits the merged-session cache (core/lora/session-cache.ts)
 * and offline "bake a style into the base" use.
 */

import { log } from '../../base/log.ts';
import type { OnnxModel } from '../../models/onnx-edit.ts';
import type { LoraComponent } from './keys.ts';
import { type DeltaAdder, defaultAdder } from './lowrank.ts';
import { assertSomethingMatched, type LoraUse, type MatchReport, matchLoras } from './match.ts';

/** Merge in place into `model` (an OnnxModel loaded for this purpose). Returns what matched and what did not. */
export async function mergeLorasIntoModel(
  model: OnnxModel,
  component: LoraComponent,
  uses: LoraUse[],
  adder?: DeltaAdder,
): Promise<MatchReport> {
  const add = adder ?? (await defaultAdder());
  const report = matchLoras(model.weightTargets(), component, uses);
  assertSomethingMatched(report, uses, component);
  // Group by initializer so a weight adapted by several LoRAs is decoded and encoded once.
  const byInit = new Map<string, typeof report.matched>();
  for (const m of report.matched) byInit.set(m.initializer, [...(byInit.get(m.initializer) ?? []), m]);
  for (const [init, layers] of byInit) {
    let w = model.readFloat32(init);
    for (const m of layers) w = await add.add(w, m.layer, m.scale, m.transposed);
    model.writeFloat32(init, w);
  }
  if (report.unmatched.length)
    log('lora').warn(
      // Layer names only: LoRA names can hold a user's file path.
      {
        component,
        unmatched: report.unmatched.length,
        first: report.unmatched.slice(0, 5).map((u) => u.slice(u.lastIndexOf(': ') + 2)),
      },
      'LoRA layers matched no weight',
    );
  return report;
}
