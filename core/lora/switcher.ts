/**
 * Apply and revert LoRAs in place, per request, without rebuilding the ONNX Runtime session.
 *
 * ONNX Runtime cannot change a loaded session's initializers, so `prepareSwitchable` turns the
 * adaptable weights (by default every weight inside the transformer blocks, where SD 1.5 LoRAs
 * live) into graph inputs. The switcher owns their buffers: `apply` adds the low-rank deltas,
 * `revert` copies the saved base bytes back, so the base is restored bit for bit (subtracting the
 * delta again would leave rounding residue). `feeds()` goes into every run of the session.
 */

import { InputError } from '../../base/errors.ts';
import { float32ToHalves, halvesToFloat32 } from '../../models/half.ts';
import type { Tensor } from '../../models/onnx.ts';
import { copyBytes, type OnnxModel, type WeightDtype, type WeightTarget } from '../../models/onnx-edit.ts';
import type { LoraComponent } from './keys.ts';
import { type DeltaAdder, defaultAdder } from './lowrank.ts';
import { assertSomethingMatched, type LoraUse, type MatchReport, matchLoras } from './match.ts';

export type LiftScope = 'attention' | 'transformer' | 'all';

/** Which weights become switchable: attention q/k/v/out only, all of each transformer block, or every weight. */
export function inScope(t: WeightTarget, scope: LiftScope): boolean {
  if (scope === 'all') return true;
  if (scope === 'attention')
    return /\.(attn\d|self_attn)\.(to_[qkv]|to_out\.0|[qkv]_proj|out_proj)$/.test(t.module);
  return /(^|\.)attentions\.\d+\./.test(t.module) || /(^|\.)encoder\.layers\.\d+\./.test(t.module);
}

interface Slot {
  target: WeightTarget;
  dtype: WeightDtype;
  dims: number[];
  base: Uint8Array;
  /** What the session reads: Float32Array or Uint16Array (float16 bits) over its own memory. */
  live: Float32Array | Uint16Array;
}

export interface ApplyReport extends MatchReport {
  /** Matched layers whose weight is not switchable in this session (outside the lifted scope). */
  notSwitchable: string[];
}

export class LoraSwitcher {
  private applied: LoraUse[] = [];
  private touched = new Set<string>();

  private constructor(
    readonly component: LoraComponent,
    private readonly slots: Map<string, Slot>,
    private readonly allTargets: WeightTarget[],
  ) {}

  /**
   * Lift the weights in `scope` to inputs. Returns the switcher that feeds those inputs and the
   * edited model to create the session from: `toBytes()` for models under protobuf's 2 GB limit
   * (fp16 SD 1.5 UNet), `save(dir)` (external weights.pb) for larger ones. `model` is modified.
   */
  static prepare(
    model: OnnxModel,
    component: LoraComponent,
    scope: LiftScope = 'transformer',
  ): { switcher: LoraSwitcher; toBytes: () => Uint8Array; save: (dir: string) => Promise<string> } {
    const targets = model.weightTargets();
    const chosen = targets.filter((t) => inScope(t, scope));
    const lifted = model.liftToInputs(chosen.map((t) => t.initializer));
    const slots = new Map<string, Slot>();
    for (const t of chosen) {
      const l = lifted.get(t.initializer)!;
      const base = l.raw;
      const liveBytes = copyBytes(base);
      const live =
        l.dtype === 'float16'
          ? new Uint16Array(liveBytes.buffer, 0, liveBytes.byteLength / 2)
          : new Float32Array(liveBytes.buffer, 0, liveBytes.byteLength / 4);
      slots.set(t.initializer, { target: t, dtype: l.dtype, dims: l.dims, base, live });
    }
    return {
      switcher: new LoraSwitcher(component, slots, targets),
      toBytes: () => model.toBytes(),
      save: (dir) => model.save(dir, 1024 * 1024),
    };
  }

  /** Number of switchable weights and their total bytes (the extra memory this mode keeps). */
  get footprint(): { weights: number; bytes: number } {
    let bytes = 0;
    for (const s of this.slots.values()) bytes += s.base.byteLength * 2;
    return { weights: this.slots.size, bytes };
  }

  /** Names of the lifted weight inputs (a UNet runner must pass these through, not treat them as ControlNet residuals). */
  get inputNames(): string[] {
    return [...this.slots.keys()];
  }

  /** The weight inputs for a run, always reflecting what is currently applied. */
  feeds(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, s] of this.slots) out[name] = { type: s.dtype, data: s.live, dims: s.dims };
    return out;
  }

  get current(): readonly LoraUse[] {
    return this.applied;
  }

  /** Put the given LoRAs in effect (whatever was applied before is reverted first). */
  async apply(uses: LoraUse[], adder?: DeltaAdder): Promise<ApplyReport> {
    const add = adder ?? (await defaultAdder());
    const report = matchLoras(this.allTargets, this.component, uses);
    assertSomethingMatched(report, uses, this.component);
    const notSwitchable = report.matched.filter((m) => !this.slots.has(m.initializer));
    if (notSwitchable.length === report.matched.length && report.matched.length > 0)
      throw new InputError(
        'lora_not_switchable',
        `LoRA layers (${notSwitchable[0]!.module}, ...) adapt weights that are not switchable in this session; ` +
          'use the merged-session cache for this LoRA.',
      );
    this.revert();
    const byInit = new Map<string, typeof report.matched>();
    for (const m of report.matched) {
      if (!this.slots.has(m.initializer)) continue;
      byInit.set(m.initializer, [...(byInit.get(m.initializer) ?? []), m]);
    }
    for (const [init, layers] of byInit) {
      const s = this.slots.get(init)!;
      // Mark first: if an add fails midway, revert() still restores this weight.
      this.touched.add(init);
      if (s.dtype === 'float32') {
        const live = s.live as Float32Array;
        let w = live;
        for (const m of layers) w = await add.add(w, m.layer, m.scale, m.transposed);
        if (w !== live) live.set(w);
      } else {
        let w = halvesToFloat32(s.base);
        for (const m of layers) w = await add.add(w, m.layer, m.scale, m.transposed);
        const h = float32ToHalves(w);
        (s.live as Uint16Array).set(new Uint16Array(h.buffer, 0, h.byteLength / 2));
      }
    }
    this.applied = uses;
    return {
      ...report,
      matched: report.matched.filter((m) => this.slots.has(m.initializer)),
      notSwitchable: notSwitchable.map((m) => `${m.lora}: ${m.layer.module}`),
    };
  }

  /** Restore the base weights exactly. */
  revert(): void {
    for (const init of this.touched) {
      const s = this.slots.get(init)!;
      new Uint8Array(s.live.buffer, s.live.byteOffset, s.live.byteLength).set(s.base);
    }
    this.touched.clear();
    this.applied = [];
  }
}
