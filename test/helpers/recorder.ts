/** One exchange seen by {@link recordingFetch}. */
export interface Exchange {
  method: string;
  url: string;
  requestHeaders: Headers;
  requestBody: string;
  status: number;
  /** Prism's request-violation report, `null` when the request broke no rule of the spec. */
  violations: string | null;
}

/**
 * A `fetch` that passes every request on and records it with Prism's `sl-violations` header, so a test can
 * assert what travelled and that Prism found nothing wrong with it.
 */
export function recordingFetch(): { fetch: typeof fetch; exchanges: Exchange[] } {
  const exchanges: Exchange[] = [];
  const recording: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const requestBody = await request.clone().text();
    const response = await fetch(request);
    exchanges.push({
      method: request.method,
      url: request.url,
      requestHeaders: request.headers,
      requestBody,
      status: response.status,
      violations: response.headers.get("sl-violations"),
    });
    return response;
  };
  return { fetch: recording, exchanges };
}
