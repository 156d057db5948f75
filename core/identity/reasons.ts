/**
 * Why a photo cannot join an identity, and what to do about it: one English template per reason
 * code, with {name}-style parameters. prepare.ts fills them for its report; the chat catalogs
 * (commands/i18n) reuse the same templates as their English text, so the wording lives here only.
 */

export const GOOD_PHOTO =
  'A good photo shows one person, face towards the camera, eyes open, in focus, with the face at least ' +
  'a fifth of the photo wide (a head-and-shoulders shot).';

export const REJECT_TEMPLATES = {
  no_face: `No face was found in {name}. ${GOOD_PHOTO}`,
  several_faces:
    "{name} shows {faces} faces and none clearly dominates. Send a photo of only you (or one where your face is much larger than anyone else's).",
  face_too_small:
    'The face in {name} is only {size} pixels; at least {min} are needed. Send a closer or larger photo.',
  extreme_pose:
    'The face in {name} is turned too far (yaw {yaw}°, pitch {pitch}°). Send a photo looking roughly at the camera.',
  eyes_closed: 'The eyes in {name} look closed. Send a photo with open eyes.',
  too_blurry: '{name} is too blurry. Send a sharp, well-lit photo.',
  duplicate: '{name} is nearly the same photo as {other}. Send different photos (other days, light, angles).',
  different_person:
    '{name} seems to show a different person from the other photos. Send photos of one person only.',
} as const;

export type RejectCode = keyof typeof REJECT_TEMPLATES;
export type ReasonParams = Record<string, string | number>;

export function isRejectCode(code: string): code is RejectCode {
  return Object.hasOwn(REJECT_TEMPLATES, code);
}

/** Fill a template; unknown parameters stay visible as {name} so a mistake shows in tests. */
export function fillTemplate(template: string, params: ReasonParams): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in params ? String(params[k]) : m));
}

export function rejectionText(code: RejectCode, params: ReasonParams): string {
  return fillTemplate(REJECT_TEMPLATES[code], params);
}
