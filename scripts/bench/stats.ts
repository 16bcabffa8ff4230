/** The q-quantile (0 to 1) of `values`, interpolated between neighbours. */
export const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * q;
  const low = Math.floor(at);
  return sorted[low]! + (sorted[Math.ceil(at)]! - sorted[low]!) * (at - low);
};
export const median = (values: number[]) => quantile(values, 0.5);
