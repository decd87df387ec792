// A middleware on an SDK v3 command's (or client's) stack at the deserialize step: it runs
// once per attempt, after the retry step's delays and right before the request is sent,
// and sees the attempt's error once it is parsed and named. The executor's fence check and
// the Lambda's throttle count use it.
export type AttemptMiddleware = (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>;

type AddMiddleware = (mw: AttemptMiddleware, opts: { step: 'deserialize'; priority: 'high' | 'low'; name: string }) => void;

/** Adds `mw` to `stack` (a command's or a client's middlewareStack). */
export function addAttemptMiddleware(stack: { add: unknown }, mw: AttemptMiddleware, opts: { priority: 'high' | 'low'; name: string }): void {
  // The stack's add() is overloaded per step with the command's own types; only the deserialize form is used.
  (stack.add as AddMiddleware).call(stack, mw, { step: 'deserialize', ...opts });
}
