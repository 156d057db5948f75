/**
 * group-photo: the prepared faces of a group's opted-in members fused into the faces of a group
 * template photo, left to right, by landmark fusion alone (like the template job, for several
 * faces), so it runs on any CPU worker. Members come from the command layer, already filtered to
 * those who opted in and have a prepared identity; extra members (more than the template has
 * faces) are left out, extra template faces stay as they are; a member whose face was erased
 * (forget) after the request is skipped.
 */
import { z } from 'zod';
import { InputError, throwIfAborted } from '../../base/errors.ts';
import type { IdentityFace } from '../../core/identity/face-source.ts';
import { artifactRef } from '../reply.ts';
import { storeCheckedPicture } from './checked-picture.ts';
import { baseData, defineJob, inThread, type ProcessorContext, pictureReply, say } from './define.ts';

const data = baseData.extend({
  template: artifactRef,
  /** Opted-in members with a prepared face, in the order they fill the template's faces (left to right). */
  members: z
    .array(
      z.object({
        crops: z.array(artifactRef).min(1).max(20),
        report: artifactRef.optional(),
        embedding: artifactRef.optional(),
      }),
    )
    .min(1)
    .max(20),
});
const result = z.object({
  images: z.array(artifactRef),
  placed: z.number().int(),
  faceCount: z.number().int(),
  flagged: z.array(z.number().int().min(0)).optional(),
});

export const groupPhoto = defineJob({
  name: 'group-photo',
  queue: 'cpu',
  data,
  result,
  feature: { name: 'Group photos', howToEnable: 'Start a worker that serves the cpu queue.' },
  reply: (r) => pictureReply([say('reply.group_photo', { placed: r.placed, faces: r.faceCount })], r),
  processor: () => inThread(import.meta.url),
});

export async function process(ctx: ProcessorContext<z.infer<typeof data>>): Promise<z.infer<typeof result>> {
  const { config } = await import('../../core/config.ts');
  const { analyzerForTask } = await import('../../core/face/shared.ts');
  const { facesLeftToRight, fusionInput, uprightImage } = await import('../../core/fusion/faces.ts');
  const { LandmarkFuser } = await import('../../core/fusion/fuser.ts');
  const { decodeImage } = await import('../../core/image/codec.ts');
  const { loadIdentityFace } = await import('../../core/identity/face-source.ts');
  const { assertSafetyReady } = await import('../../core/safety/classifier.ts');
  const { data, artifacts, signal } = ctx;
  await assertSafetyReady();
  const analyzer = await analyzerForTask(ctx);
  ctx.progress('template', 5);
  const bytes = await artifacts.read(data.template).catch((e) => {
    // The template is the admin's artifact: gone after their /forget. (The store's own message
    // names the ref, which holds a user id; this one is shown in the group.)
    if ((e as { code?: string }).code !== 'artifact_missing') throw e;
    throw new InputError(
      'template_missing',
      'The group template photo is no longer stored. An administrator sends a new one with /group photo.',
    );
  });
  const decoded = await decodeImage(bytes);
  const analysis = await analyzer.analyzeRgb(decoded, { signal });
  if (analysis.faces.length === 0)
    throw new InputError(
      'no_face',
      'No face was found in the group template photo. Send a photo where the faces are clearly visible.',
    );
  const picture = uprightImage(decoded, analysis);
  const slots = facesLeftToRight(analysis.faces);
  const fuser = new LandmarkFuser();
  const blend = config().FACECHAIN_FUSION_BLEND;
  let image = picture;
  let placed = 0;
  for (const [i, m] of data.members.entries()) {
    if (placed === slots.length) break;
    throwIfAborted(signal);
    ctx.progress('fuse', 10 + (85 * i) / data.members.length);
    let who: IdentityFace;
    try {
      who = await loadIdentityFace(
        analyzer,
        artifacts,
        `member ${i + 1}`,
        { id: `member-${i + 1}`, ...m },
        signal,
      );
    } catch (e) {
      // A member who ran /forget after the request: their face is gone, and so are they.
      if ((e as { code?: string }).code === 'artifact_missing') continue;
      throw e;
    }
    // Each fusion changes only its own face region, so the template's landmarks of the other
    // faces stay valid for the next member.
    image = await fuser.fuse(who.face, fusionInput(image, slots[placed]!), { blend, signal });
    placed++;
  }
  if (placed === 0)
    throw new InputError(
      'no_member_faces',
      'None of the members in this request has a prepared face any more, so there is no group photo.',
    );
  throwIfAborted(signal);
  const { ref, flagged } = await storeCheckedPicture(ctx, image, 'group-photo', 92);
  return { images: [ref], placed, faceCount: slots.length, ...(flagged ? { flagged } : {}) };
}
