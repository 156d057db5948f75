/**
 * Job ids derived from the platform's update or interaction id, so a re-sent Telegram update or a
 * double click maps to the same job. BullMQ ids must not contain ':' nor be all digits.
 */
import { InputError } from '../base/errors.ts';
import { JOB_ID_RE, USER_ID_RE } from '../core/storage/ids.ts';

const PLATFORM_PREFIX: Record<string, string> = { telegram: 'tg', discord: 'dc', web: 'web', cli: 'cli' };

/** "tg-<update id>", "dc-<interaction id>", ...; the key may itself be "<kind>-<id>" already. */
export function jobIdFor(platform: string, key: string): string {
  const prefix = PLATFORM_PREFIX[platform] ?? platform;
  const id = `${prefix}-${key}`.replace(/[^A-Za-z0-9_-]/g, '_');
  return checkJobId(id);
}

export function checkJobId(id: string): string {
  if (!JOB_ID_RE.test(id))
    throw new InputError(
      'bad_job_id',
      `"${id.slice(0, 80)}" is not a job id (letters, digits, '-' and '_', not all digits, up to 120).`,
    );
  return id;
}

/** The job layer's user id for a platform user: "tg-123", "dc-456", "web-local". */
export function userIdFor(platform: string, id: string): string {
  const u = `${PLATFORM_PREFIX[platform] ?? platform}-${id}`;
  if (!USER_ID_RE.test(u))
    throw new InputError('bad_user', `"${u.slice(0, 80)}" is not a valid user id for the job system.`);
  return u;
}

/** Child job ids in a flow, derived from the request (root) id. */
export const childJobId = (requestId: string, step: string): string => checkJobId(`${requestId}-${step}`);

/** The one delivery job of a request. */
export const deliverJobId = (requestId: string): string => checkJobId(`dlv-${requestId}`);
