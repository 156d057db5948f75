/** The privacy text's version. Bump it when consent.text changes: everyone is asked again. */
export const PRIVACY_VERSION = '2026-11-25.2';
