import { OAuthError, OAuthResponseError } from "../core/errors";
import { ReauthorizationRequiredError } from "./errors";
import type { Settings } from "./settings";
import type { TokenFailedEvent, TokenRefreshedEvent } from "./types";

/** What the manager tells its hooks; a hook that throws is ignored. */
export interface Reporter {
  /** A token could not be obtained or saved; `served` when a token was handed back all the same. */
  failed(key: string, error: unknown, durationMs: number, served: boolean): void;
  refreshed(event: Omit<TokenRefreshedEvent, "type" | "grant">): void;
}

/** The failure, described with codes only: server text may quote what was sent. */
export function describeFailure(error: unknown): Pick<TokenFailedEvent, "code" | "error" | "status"> {
  if (error instanceof OAuthError) return { code: error.code, error: error.error, status: error.status };
  if (error instanceof OAuthResponseError) return { code: error.code, status: error.status };
  if (error instanceof ReauthorizationRequiredError) {
    const cause = error.cause instanceof OAuthError ? { error: error.cause.error, status: error.cause.status } : {};
    return { code: error.code, ...cause };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === "string" ? code : error.name };
  }
  return { code: "UNKNOWN" };
}

function emit<E>(hook: ((event: E) => void) | undefined, event: E): void {
  if (hook === undefined) return;
  try {
    hook(event);
  } catch {
    // Hooks are for logging and metrics; a broken one must not break token delivery.
  }
}

/** The manager's hooks, with the grant filled in. */
export function createReporter(settings: Settings): Reporter {
  const grant = settings.grantType;
  return {
    failed(key, error, durationMs, served) {
      emit(settings.onFailed, {
        type: "failed",
        key,
        grant,
        durationMs,
        ...describeFailure(error),
        reauthorizationRequired: error instanceof ReauthorizationRequiredError,
        servedCurrentToken: served,
      });
    },
    refreshed(event) {
      emit(settings.onRefreshed, { type: "refreshed", grant, ...event });
    },
  };
}
