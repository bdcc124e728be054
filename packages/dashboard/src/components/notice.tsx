import type { ComponentChildren } from 'preact';

/** A one-line message above a view: what failed (role=alert) or what was just done. */
export function Notice({ error, info }: { error?: string | undefined; info?: ComponentChildren }) {
  if (error) {
    return (
      <p class="notice error" role="alert">
        {error}
      </p>
    );
  }
  if (info) {
    return (
      <p class="notice info" role="status">
        {info}
      </p>
    );
  }
  return null;
}
