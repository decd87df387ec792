// Controller defaults, in a file with no imports so the config schema can use them
// without loading the AWS SDK.
/** Full resync interval of the reconcile loop. */
export const DEFAULT_RESYNC_MS = 10_000;
