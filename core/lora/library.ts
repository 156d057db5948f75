/**
 * Decoded LoRAs kept in memory between requests (a 150 MB style LoRA takes about a second to read
 * and decode), bounded by a byte budget, least recently used out first. Entries are keyed by path
 * and modification time (the file's and its adapter_config.json's), so a replaced file is read
 * again.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { type Lora, type LoraLimits, loadLora } from './lora.ts';
import { ADAPTER_CONFIG_FILE } from './peft-config.ts';

function loraBytes(l: Lora): number {
  return l.modules.reduce((a, m) => a + (m.down.byteLength + m.up.byteLength), 0);
}

export class LoraLibrary {
  private readonly entries = new Map<string, { lora: Promise<Lora>; bytes: number }>();

  constructor(
    readonly budgetBytes: number,
    readonly limits: LoraLimits & { maxBytes: number },
  ) {}

  get usedBytes(): number {
    let n = 0;
    for (const e of this.entries.values()) n += e.bytes;
    return n;
  }

  /** The decoded LoRA at `file`; `name` identifies it in reports and cache keys (defaults to the path). */
  async get(file: string, name = file): Promise<Lora> {
    const s = await stat(file).catch(() => undefined);
    // A replaced adapter_config.json next to the file changes the LoRA's scale too.
    const c = await stat(path.join(path.dirname(file), ADAPTER_CONFIG_FILE)).catch(() => undefined);
    const key = `${file}|${s?.mtimeMs ?? 0}|${s?.size ?? 0}|${c?.mtimeMs ?? 0}|${name}`;
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // re-insert: Map order is the LRU order
      this.entries.set(key, hit);
      return hit.lora;
    }
    const entry = { lora: loadLora(file, { ...this.limits, name }), bytes: 0 };
    this.entries.set(key, entry);
    try {
      entry.bytes = loraBytes(await entry.lora);
    } catch (e) {
      this.entries.delete(key);
      throw e;
    }
    for (const k of this.entries.keys()) {
      if (this.usedBytes <= this.budgetBytes || k === key) break;
      this.entries.delete(k);
    }
    return entry.lora;
  }
}
