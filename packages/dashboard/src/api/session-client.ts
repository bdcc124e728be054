import { DroverClient, DroverClientError } from '@drover/client';

/**
 * The SDK for this tab's key, against the origin that served the page. A 401 on any call (the key
 * was revoked or rotated while the tab was open) calls `onUnauthorized`, which logs out.
 */
export function sessionClient(apiKey: string, onUnauthorized: () => void = () => undefined): DroverClient {
  return new DroverClient({
    baseUrl: location.origin,
    apiKey,
    // One retry of a 503 or a dropped GET is enough for a page that polls anyway.
    retries: { attempts: 2 },
    fetch: async (input, init) => {
      const res = await fetch(input, init);
      if (res.status === 401) onUnauthorized();
      return res;
    },
  });
}

/** What to show for an error a call threw (the SDK's messages name the code and the status). */
export function messageOf(err: unknown): string {
  if (err instanceof DroverClientError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
