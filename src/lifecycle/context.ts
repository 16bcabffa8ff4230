import type { RequestBudget } from "./budget";
import type { KeyCache } from "./cache";
import type { MarkSightings } from "./sightings";
import type { Reporter } from "./reporting";
import type { Settings } from "./settings";

/** What one token manager's lifecycle modules share: its settings and its parts, each its own module. */
export interface Lifecycle {
  readonly settings: Settings;
  readonly cache: KeyCache;
  readonly budget: RequestBudget;
  readonly marks: MarkSightings;
  readonly report: Reporter;
}
