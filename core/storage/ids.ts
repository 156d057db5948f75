/**
 * Identifier shapes shared by the artifact store, Redis records and job payloads. User ids are
 * "<platform>-<platform user id>" (tg-123, dc-456, web-local); the shape keeps them safe as
 * folder names and Redis key parts (no ':', no glob characters).
 */
export const USER_ID_RE = /^[a-z]{2,8}-[A-Za-z0-9_-]{1,64}$/;

/** BullMQ job ids: no ':' (it separates key parts) and not all digits (BullMQ's own ids). */
export const JOB_ID_RE = /^(?!\d+$)[A-Za-z0-9_-]{1,120}$/;
