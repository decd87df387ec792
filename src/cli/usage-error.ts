/** A bad argument found after parsing (e.g. a value out of range): the command exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
