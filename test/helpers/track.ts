/** Settles `outcome` into a plain record, so a test can check it while fake time is frozen, without awaiting. */
export function track<T>(outcome: Promise<T>) {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  outcome.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}
