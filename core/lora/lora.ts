/**
 * A LoRA as the merger needs it: per adapted layer, down [r, in(, kh, kw)] and up [out, r(, 1, 1)]
 * as float32, and the scale alpha/rank. Built from a validated .safetensors file.
 *
 * Alpha, in order: the layer's own `.alpha` tensor; for PEFT-format layers, PEFT's config
 * (the file's `lora_adapter_metadata`, else an `adapter_config.json` next to the file:
 * peft-config.ts), whose rank must then match the layer's; the file's kohya metadata
 * `ss_network_alpha`; the caller's `defaultAlpha`; otherwise alpha = rank (scale 1). The last
 * rule is what FaceChain's merge_lora.py does for its own face LoRAs, whose .bin files carry no
 * alpha.
 */
import { InputError } from '../../base/errors.ts';
import { type LoraComponent, type LoraFormat, parseLoraKey } from './keys.ts';
import {
  type PeftLoraConfig,
  peftConfigsFromMetadata,
  peftRankAlpha,
  readAdapterConfig,
} from './peft-config.ts';
import { readSafetensors, type SafetensorsFile } from './safetensors.ts';

export interface LoraModule {
  component: LoraComponent;
  flat: string;
  /** The layer's name as spelled in the file (reports show this). */
  module: string;
  rank: number;
  alpha: number;
  down: Float32Array;
  downShape: number[];
  up: Float32Array;
  upShape: number[];
  /** Output features (rows of the weight) and input features incl. kernel (columns). */
  outFeatures: number;
  inFeatures: number;
}

export interface Lora {
  name: string;
  formats: LoraFormat[];
  modules: LoraModule[];
  /** Tensor keys that are not LoRA down/up/alpha weights this project understands (LoHa, DoRA...). */
  unsupportedKeys: string[];
}

export interface LoraLimits {
  /** Highest rank accepted (SD 1.5 style LoRAs use 4–128). */
  maxRank?: number;
  /** Alpha to assume when neither the layer nor the metadata give one. */
  defaultAlpha?: number;
  /** PEFT's config from an adapter_config.json next to the file (loadLora reads it). */
  adapterConfig?: PeftLoraConfig;
}

function loraError(name: string, reason: string): InputError {
  return new InputError(
    'bad_lora',
    `LoRA "${name}" cannot be used: ${reason}. It should be an SD 1.5 LoRA in kohya or diffusers/PEFT format.`,
    { context: { lora: name } },
  );
}

/** Turn a parsed safetensors file into LoRA modules, checking that every layer is complete and consistent. */
export function loraFromSafetensors(file: SafetensorsFile, name: string, limits: LoraLimits = {}): Lora {
  const maxRank = limits.maxRank ?? 1024;
  const metaAlpha = Number.parseFloat(file.metadata.ss_network_alpha ?? '');
  const peftInFile = peftConfigsFromMetadata(file.metadata, name);
  const groups = new Map<
    string,
    {
      component: LoraComponent;
      flat: string;
      module: string;
      format: LoraFormat;
      path?: string;
      down?: string;
      up?: string;
      alpha?: string;
    }
  >();
  const formats = new Set<LoraFormat>();
  const unsupportedKeys: string[] = [];
  for (const key of file.tensors.keys()) {
    const p = parseLoraKey(key);
    if (!p) {
      unsupportedKeys.push(key);
      continue;
    }
    formats.add(p.format);
    const id = `${p.component}:${p.flat}`;
    const g = groups.get(id) ?? { component: p.component, flat: p.flat, module: p.module, format: p.format };
    if (p.part !== 'alpha') {
      g.module = p.module;
      g.format = p.format;
      g.path = p.path;
    }
    g[p.part] = key;
    groups.set(id, g);
  }
  const modules: LoraModule[] = [];
  for (const g of groups.values()) {
    if (!g.down || !g.up) {
      if (!g.down && !g.up) continue; // a stray alpha: nothing to merge
      throw loraError(
        name,
        `layer ${g.module} has a ${g.down ? 'down' : 'up'} matrix but no ${g.down ? 'up' : 'down'}`,
      );
    }
    const dt = file.tensors.get(g.down)!;
    const ut = file.tensors.get(g.up)!;
    const downShape = dt.shape;
    const upShape = ut.shape;
    const rank = downShape[0] ?? 0;
    const okDown = downShape.length === 2 || downShape.length === 4;
    const okUp =
      (upShape.length === 2 || (upShape.length === 4 && upShape[2] === 1 && upShape[3] === 1)) &&
      upShape.length === downShape.length;
    if (!okDown || !okUp || upShape[1] !== rank || rank === 0)
      throw loraError(
        name,
        `layer ${g.module} has down [${downShape.join(', ')}] and up [${upShape.join(', ')}], which do not form a low-rank pair`,
      );
    if (rank > maxRank)
      throw loraError(name, `layer ${g.module} has rank ${rank}, above the limit ${maxRank}`);
    let alpha = rank;
    const peft =
      g.format === 'peft' && g.path !== undefined
        ? (peftInFile.get(g.component) ?? limits.adapterConfig)
        : undefined;
    if (g.alpha) {
      const a = file.float32(g.alpha);
      if (a.length !== 1 || !Number.isFinite(a[0]!))
        throw loraError(name, `layer ${g.module} has an invalid alpha`);
      alpha = a[0]!;
    } else if (peft) {
      const r = peftRankAlpha(peft, g.path!);
      if (r.rank !== rank)
        throw loraError(
          name,
          `${peft.source} gives layer ${g.module} rank ${r.rank}, but its matrices have rank ${rank}; the config belongs to other weights`,
        );
      alpha = r.alpha;
    } else if (Number.isFinite(metaAlpha)) alpha = metaAlpha;
    else if (limits.defaultAlpha !== undefined) alpha = limits.defaultAlpha;
    const down = file.float32(g.down);
    const up = file.float32(g.up);
    for (const v of [down, up])
      for (let i = 0; i < v.length; i++)
        if (!Number.isFinite(v[i]!))
          throw loraError(name, `layer ${g.module} contains NaN or infinite values`);
    modules.push({
      component: g.component,
      flat: g.flat,
      module: g.module,
      rank,
      alpha,
      down,
      downShape,
      up,
      upShape,
      outFeatures: upShape[0]!,
      inFeatures: downShape.slice(1).reduce((a, b) => a * b, 1),
    });
  }
  if (modules.length === 0)
    throw loraError(
      name,
      `it has no LoRA layers (${file.tensors.size} tensors, none named like lora_down/lora_up or lora_A/lora_B)`,
    );
  return { name, formats: [...formats], modules, unsupportedKeys };
}

/** Read, validate and decode a LoRA file (with the adapter_config.json next to it, if any). */
export async function loadLora(
  file: string,
  opts: LoraLimits & { maxBytes: number; name?: string },
): Promise<Lora> {
  const st = await readSafetensors(file, opts.maxBytes);
  const adapterConfig = opts.adapterConfig ?? (await readAdapterConfig(file));
  return loraFromSafetensors(st, opts.name ?? file, { ...opts, adapterConfig });
}

/** The rank-r product up·down for one module, scaled: delta[o, i] = scale · Σ_r up[o, r] · down[r, i]. */
export function loraDelta(m: LoraModule, multiplier: number): Float32Array {
  const scale = multiplier * (m.alpha / m.rank);
  const out = new Float32Array(m.outFeatures * m.inFeatures);
  addLoraDelta(out, m, scale, false);
  return out;
}

/**
 * Add scale · up·down into `w`. `transposed` means w is stored [in, out] (what exporters write
 * for Linear layers turned into MatMul); otherwise w is [out, in(·kh·kw)].
 * Loops are ordered so the innermost one walks memory contiguously.
 */
export function addLoraDelta(w: Float32Array, m: LoraModule, scale: number, transposed: boolean): void {
  const R = m.rank;
  const O = m.outFeatures;
  const I = m.inFeatures;
  const { up, down } = m;
  if (!transposed) {
    for (let o = 0; o < O; o++) {
      const row = o * I;
      for (let r = 0; r < R; r++) {
        const u = scale * up[o * R + r]!;
        if (u === 0) continue;
        const d0 = r * I;
        for (let i = 0; i < I; i++) w[row + i] += u * down[d0 + i]!;
      }
    }
    return;
  }
  const upT = new Float32Array(R * O);
  for (let o = 0; o < O; o++) for (let r = 0; r < R; r++) upT[r * O + o] = up[o * R + r]!;
  for (let i = 0; i < I; i++) {
    const row = i * O;
    for (let r = 0; r < R; r++) {
      const d = scale * down[r * I + i]!;
      if (d === 0) continue;
      const u0 = r * O;
      for (let o = 0; o < O; o++) w[row + o] += d * upT[u0 + o]!;
    }
  }
}
