/**
 * Match LoRA layers to a model's weights. A layer matches the weight whose module path, flattened
 * to underscores, equals the layer's flat id; shapes must agree (a mismatch means the LoRA was
 * made for another base, e.g. SDXL, and is refused). Layers that match nothing are reported.
 */

import { InputError } from '../../base/errors.ts';
import type { WeightTarget } from '../../models/onnx-edit.ts';
import type { LoraComponent } from './keys.ts';
import type { Lora, LoraModule } from './lora.ts';

export interface LoraUse {
  lora: Lora;
  /** W += multiplier · (alpha/rank) · up·down. FaceChain: face 0.95, style 0.15–0.8 (default 0.25). */
  multiplier: number;
}

export interface MatchedLayer {
  lora: string;
  module: string;
  initializer: string;
  transposed: boolean;
  layer: LoraModule;
  target: WeightTarget;
  scale: number;
}

export interface MatchReport {
  matched: MatchedLayer[];
  /** LoRA layers for this component that found no weight: "<lora>: <layer name>". */
  unmatched: string[];
  /** Layers meant for another component (e.g. text encoder layers when merging the UNet). */
  otherComponents: number;
  /** Tensor keys the reader did not understand (LoHa, DoRA, ...). */
  unsupported: string[];
}

/** Plan the merge of several LoRAs into one component's weights; throws on shape mismatches. */
export function matchLoras(targets: WeightTarget[], component: LoraComponent, uses: LoraUse[]): MatchReport {
  const byFlat = new Map(targets.map((t) => [t.flat, t]));
  const report: MatchReport = { matched: [], unmatched: [], otherComponents: 0, unsupported: [] };
  for (const { lora, multiplier } of uses) {
    if (!Number.isFinite(multiplier))
      throw new InputError('bad_multiplier', `LoRA "${lora.name}" multiplier ${multiplier} is not a number.`);
    report.unsupported.push(...lora.unsupportedKeys.map((k) => `${lora.name}: ${k}`));
    for (const layer of lora.modules) {
      if (layer.component !== component) {
        report.otherComponents++;
        continue;
      }
      const t = byFlat.get(layer.flat);
      if (!t) {
        report.unmatched.push(`${lora.name}: ${layer.module}`);
        continue;
      }
      const kernelOk = t.op !== 'Conv' || layer.downShape.length === 4 || t.dims[2] * t.dims[3] === 1;
      if (t.outFeatures !== layer.outFeatures || t.inFeatures !== layer.inFeatures || !kernelOk)
        throw new InputError(
          'lora_shape_mismatch',
          `LoRA "${lora.name}" layer ${layer.module} is ${layer.outFeatures}×${layer.inFeatures} but the model's ` +
            `${t.module} is ${t.outFeatures}×${t.inFeatures}. The LoRA was made for a different base model ` +
            '(this service uses SD 1.5).',
          { context: { lora: lora.name, module: t.module } },
        );
      report.matched.push({
        lora: lora.name,
        module: t.module,
        initializer: t.initializer,
        transposed: t.transposed,
        layer,
        target: t,
        scale: multiplier * (layer.alpha / layer.rank),
      });
    }
  }
  return report;
}

/** Refuse a LoRA that adapts nothing in the model at all (almost always a wrong base or format). */
export function assertSomethingMatched(report: MatchReport, uses: LoraUse[], component: LoraComponent): void {
  for (const { lora } of uses) {
    const mine = lora.modules.filter((m) => m.component === component).length;
    const hit = report.matched.filter((m) => m.lora === lora.name).length;
    if (mine > 0 && hit === 0)
      throw new InputError(
        'lora_no_match',
        `None of the ${mine} ${component} layers of LoRA "${lora.name}" match this model's weights ` +
          `(first: ${lora.modules.find((m) => m.component === component)?.module}). It is probably for another base model.`,
        { context: { lora: lora.name } },
      );
  }
}
