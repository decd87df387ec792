// The long-running commands (agent, controller) run until SIGINT or SIGTERM.

/** Resolves with the first of SIGINT/SIGTERM, and stops listening for the other. */
export function firstStopSignal(signals: Pick<NodeJS.Process, 'once' | 'off'>): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (s: NodeJS.Signals) => {
      signals.off('SIGINT', onSignal);
      signals.off('SIGTERM', onSignal);
      resolve(s);
    };
    signals.once('SIGINT', onSignal);
    signals.once('SIGTERM', onSignal);
  });
}
