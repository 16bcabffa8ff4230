import { expect } from "vitest";

/** Settles `outcome` into a plain record, so a test can check it while fake time is frozen, without awaiting. */
export function track<T>(outcome: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  outcome.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}

/** Awaits `promise` without throwing, and how long it took, in whole ms. */
export async function timed<T>(promise: Promise<T>): Promise<{ ms: number; result: PromiseSettledResult<T> }> {
  const start = performance.now();
  const [result] = await Promise.allSettled([promise]);
  return { ms: Math.round(performance.now() - start), result: result! };
}

/** The reason of a settled result, which must be a rejection. */
export function rejection(result: PromiseSettledResult<unknown>): unknown {
  expect(result.status).toBe("rejected");
  return (result as PromiseRejectedResult).reason;
}
