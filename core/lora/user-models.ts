/**
 * Model data derived from a user's face that lives outside the artifact store, under the data
 * directory every worker shares: the face-LoRA files materialised for merging
 * (<data>/face-loras/<user>/), merged model folders that contain one (<data>/merged/) and the
 * style LoRAs the user uploaded (<data>/user-styles/). All of it is biometric-derived or the
 * user's own upload, so forget(user) removes it here (see forgetUserModels).
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { config } from '../config.ts';
import { type ArtifactStore, checkUser, parseRef } from '../storage/artifacts.ts';
import { MergedFolderCache } from './merged-folder.ts';
import { UserStyleStore } from './user-styles.ts';

export interface UserModelDirs {
  faceLoras: string;
  merged: string;
  userStyles: string;
}

export function userModelDirs(dataDir = config().dataDir): UserModelDirs {
  return {
    faceLoras: path.join(dataDir, 'face-loras'),
    merged: path.join(dataDir, 'merged'),
    userStyles: path.join(dataDir, 'user-styles'),
  };
}

export function mergedFolders(dataDir = config().dataDir): MergedFolderCache {
  return new MergedFolderCache(
    userModelDirs(dataDir).merged,
    config().FACECHAIN_MERGED_MODELS_MB * 1024 * 1024,
  );
}

/**
 * A local file of the user's face LoRA (an artifact), for the LoRA merger, which reads files.
 * The path names the user, so merged folders built from it can be found and erased.
 */
export async function faceLoraFile(
  artifacts: ArtifactStore,
  ref: string,
  dataDir = config().dataDir,
): Promise<string> {
  const { user, hash } = parseRef(ref);
  const dir = path.join(userModelDirs(dataDir).faceLoras, checkUser(user));
  const file = path.join(dir, `${hash}.safetensors`);
  if (existsSync(file)) return file;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.part-${process.pid}-${Date.now()}`;
  await writeFile(tmp, await artifacts.read(ref), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return file;
}

/** Whether a LoRA name (as planGeneration names a face LoRA: "face:<file>") is this user's. */
export function isUsersLora(loraName: string, user: string, dataDir = config().dataDir): boolean {
  const dir = path.join(userModelDirs(dataDir).faceLoras, checkUser(user)) + path.sep;
  return loraName.includes(dir);
}

/** Erase every model file derived from the user; returns how many files/folders were removed. */
export async function forgetUserModels(user: string, dataDir = config().dataDir): Promise<number> {
  const dirs = userModelDirs(dataDir);
  let n = await mergedFolders(dataDir).forget((name) => isUsersLora(name, user, dataDir));
  const loras = path.join(dirs.faceLoras, checkUser(user));
  if (existsSync(loras)) {
    await rm(loras, { recursive: true, force: true });
    n++;
  }
  const c = config();
  n += await new UserStyleStore(dirs.userStyles, {
    maxBytes: c.FACECHAIN_MAX_LORA_BYTES,
    maxPerUser: c.FACECHAIN_USER_STYLES_MAX,
    maxRank: c.FACECHAIN_MAX_LORA_RANK,
  }).forget(user);
  return n;
}
