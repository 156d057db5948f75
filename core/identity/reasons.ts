/**
 * Why a photo cannot join an identity, and what to do about it: one English template per reason
 * code, with {name}-style parameters. prepare.ts fills them for its report. The wording lives in
 * the English message catalog (base/i18n/en.ts, keys reject.*), so chats and reports agree.
 */
import { en } from '../../base/i18n/en.ts';

export const GOOD_PHOTO = en['photo.good'];

export const REJECT_TEMPLATES = {
  no_face: en['reject.no_face'],
  several_faces: en['reject.several_faces'],
  face_too_small: en['reject.face_too_small'],
  extreme_pose: en['reject.extreme_pose'],
  eyes_closed: en['reject.eyes_closed'],
  too_blurry: en['reject.too_blurry'],
  duplicate: en['reject.duplicate'],
  different_person: en['reject.different_person'],
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
