import { config } from '../../core/config.ts';
import { keptFor } from './results.ts';
import type { CommandContext } from './types.ts';

/** Bump when consent.text changes: everyone is asked again. */
const TEXT_VERSION = '2026-11-25.3';

/**
 * The version users consent to. The text states how long files are kept, so the retention
 * setting is part of the version: an operator who changes it asks everyone again.
 */
export function privacyVersion(hours = config().FACECHAIN_KEEP_FILES_HOURS): string {
  return hours === 0 ? TEXT_VERSION : `${TEXT_VERSION}+${hours}h`;
}

/** The privacy text's "how long" line for this deployment's retention setting. */
export function howLongKept(t: CommandContext['t'], hours = config().FACECHAIN_KEEP_FILES_HOURS): string {
  return hours === 0 ? t('consent.kept_until_deleted') : t('consent.kept_for', { age: keptFor(t, hours) });
}
