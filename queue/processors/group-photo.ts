/**
 * group-photo: the prepared faces of a group's opted-in members fused into the faces of a group
 * template photo, left to right, by landmark fusion alone (like the template job, for several
 * faces), so it runs on any CPU worker. Runs in a worker thread. Members come from the command
 * layer, already filtered to those who opted in and have a prepared identity; extra members
 * (more than the template has faces) are left out, extra template faces stay as they are.
 */
import { config } from '../../core/config.ts';
import { InputError, throwIfAborted } from '../../core/errors.ts';
import { facesLeftToRight, fusionInput, uprightImage } from '../../core/fusion/faces.ts';
import { LandmarkFuser } from '../../core/fusion/fuser.ts';
import { decodeImage, encodePng } from '../../core/image/codec.ts';
import type { JobResult } from '../jobs.ts';
import type { ProcessorContext } from '../processor.ts';
import { sharedAnalyzer } from './analyze.ts';
import { loadIdentityFace } from './identity-face.ts';

export async function groupPhotoJob(ctx: ProcessorContext<'group-photo'>): Promise<JobResult<'group-photo'>> {
  const { data, artifacts, signal } = ctx;
  ctx.progress('load-models', 0);
  const analyzer = await sharedAnalyzer();
  throwIfAborted(signal);
  ctx.progress('template', 5);
  const decoded = await decodeImage(await artifacts.read(data.template));
  const analysis = await analyzer.analyzeRgb(decoded, { signal });
  if (analysis.faces.length === 0)
    throw new InputError(
      'no_face',
      'No face was found in the group template photo. Send a photo where the faces are clearly visible.',
    );
  const template = uprightImage(decoded, analysis);
  const slots = facesLeftToRight(analysis.faces);
  const n = Math.min(slots.length, data.members.length);
  const fuser = new LandmarkFuser();
  const blend = config().FACECHAIN_FUSION_BLEND;
  let image = template;
  for (let i = 0; i < n; i++) {
    throwIfAborted(signal);
    ctx.progress('fuse', 10 + (85 * i) / n);
    const m = data.members[i]!;
    const who = await loadIdentityFace(
      analyzer,
      artifacts,
      `member ${i + 1}`,
      { id: `member-${i + 1}`, status: 'prepared', ...m, updatedAt: 0 },
      signal,
    );
    // Each fusion changes only its own face region, so the template's landmarks of the other
    // faces stay valid for the next member.
    image = await fuser.fuse(who.face, fusionInput(image, slots[i]!), { blend, signal });
  }
  throwIfAborted(signal);
  ctx.progress('store', 95);
  const stored = await artifacts.put(data.user, await encodePng(image), { ext: 'png' });
  ctx.progress('done', 100);
  return { images: [stored.ref], placed: n, faceCount: slots.length };
}
