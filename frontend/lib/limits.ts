/**
 * The API's limits, for the forms' own hints and input bounds. They are the ones the OpenAPI
 * documents declare (tests/test_openapi.py fails when the two disagree); the web app's Better
 * Auth accounts take the same password bounds as the auth service's.
 */
export const TITLE_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 10_000;
export const LABEL_MAX_LENGTH = 50;
export const LABELS_MAX = 20;
export const PASSWORD_MIN_LENGTH = 8;
/** bcrypt's limit, in bytes of UTF-8 (a longer password is refused, never truncated). */
export const PASSWORD_MAX_BYTES = 72;
