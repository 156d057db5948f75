/**
 * Online speech kept on disk by a hash of (voice, text, rate, pitch, format): the same request
 * is answered without the service. Entries hold the service's MP3 and word timing; a user's
 * requests go in their own folder (scoped), so /forget removes what they had spoken. Each folder
 * is bounded (least recently used entries go first).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { log } from '../../base/log.ts';
import type { EdgeAudio } from './edge-client.ts';

export function speechCacheKey(parts: Record<string, string>): string {
  const ordered = Object.keys(parts)
    .sort()
    .map((k) => [k, parts[k]]);
  return createHash('sha256').update(JSON.stringify(ordered)).digest('hex');
}

export class SpeechCache {
  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  /**
   * The cache of one user: their texts' speech lives under their own folder, so forgetting them
   * removes it (core/lora/user-models.ts, forgetUserModels). The size bound applies per folder.
   */
  scoped(user: string): SpeechCache {
    if (!/^[a-z]{2,8}-[A-Za-z0-9_-]{1,64}$/.test(user))
      throw new Error(`not a user id: ${user.slice(0, 40)}`);
    return new SpeechCache(path.join(this.dir, user), this.maxBytes);
  }

  private files(key: string) {
    return { mp3: path.join(this.dir, `${key}.mp3`), json: path.join(this.dir, `${key}.json`) };
  }

  async get(key: string): Promise<EdgeAudio | undefined> {
    if (this.maxBytes <= 0) return undefined;
    const f = this.files(key);
    try {
      const [mp3, json] = await Promise.all([readFile(f.mp3), readFile(f.json, 'utf8')]);
      const meta = JSON.parse(json) as { words: EdgeAudio['words'] };
      const now = new Date();
      await Promise.all([utimes(f.mp3, now, now), utimes(f.json, now, now)]).catch(() => {});
      return { mp3, words: meta.words };
    } catch {
      return undefined;
    }
  }

  async put(key: string, audio: EdgeAudio): Promise<void> {
    if (this.maxBytes <= 0 || audio.mp3.length > this.maxBytes / 4) return;
    try {
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      const f = this.files(key);
      const tmp = `.${randomBytes(6).toString('hex')}.tmp`;
      // Write then rename, json last: a reader finding the json finds a complete mp3.
      await writeFile(path.join(this.dir, `${tmp}.mp3`), audio.mp3, { mode: 0o600 });
      await rename(path.join(this.dir, `${tmp}.mp3`), f.mp3);
      await writeFile(path.join(this.dir, `${tmp}.json`), JSON.stringify({ words: audio.words }), {
        mode: 0o600,
      });
      await rename(path.join(this.dir, `${tmp}.json`), f.json);
      await this.evict();
    } catch (e) {
      log('speech').warn({ err: (e as Error).message }, 'speech cache write failed');
    }
  }

  /** Delete least recently used entries until the folder is within its budget. */
  async evict(): Promise<void> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const entries: { key: string; bytes: number; used: number }[] = [];
    const byKey = new Map<string, { key: string; bytes: number; used: number }>();
    for (const name of names) {
      const m = /^([0-9a-f]{64})\.(mp3|json)$/.exec(name);
      if (!m) continue;
      const st = await stat(path.join(this.dir, name)).catch(() => undefined);
      if (!st) continue;
      let e = byKey.get(m[1]!);
      if (!e) {
        e = { key: m[1]!, bytes: 0, used: 0 };
        byKey.set(m[1]!, e);
        entries.push(e);
      }
      e.bytes += st.size;
      e.used = Math.max(e.used, st.mtimeMs);
    }
    let total = entries.reduce((a, e) => a + e.bytes, 0);
    if (total <= this.maxBytes) return;
    entries.sort((a, b) => a.used - b.used);
    for (const e of entries) {
      if (total <= this.maxBytes) break;
      const f = this.files(e.key);
      await Promise.all([rm(f.json, { force: true }), rm(f.mp3, { force: true })]);
      total -= e.bytes;
    }
  }
}
