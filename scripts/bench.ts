/**
 * `npm run bench`: every benchmark, one after another. Benchmarks print numbers; they are not tests and
 * assert nothing.
 */
import "./bench-token-manager";
