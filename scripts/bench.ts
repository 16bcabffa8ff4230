/**
 * `npm run bench`: every benchmark, one after another. Benchmarks print numbers; they are not tests and
 * assert nothing. Set BENCH_ONLY=manager|peers|redis to run one.
 */
const only = process.env.BENCH_ONLY;
if (!only || only === "peers") await import("./bench-peers");
if (!only || only === "manager") await import("./bench-token-manager");
if (!only || only === "redis") await import("./bench-redis");
export {};
