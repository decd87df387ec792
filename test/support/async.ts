// Small async helpers shared by the integration and e2e tests.

/** The SDK error name a call fails with, or 'no error'. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (e) {
    return (e as { name: string }).name;
  }
}

/** Retries `check` until it stops throwing; rethrows its last error after the timeout. */
export async function eventually(check: () => Promise<void>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export { until } from '../../lab/wait.js';
