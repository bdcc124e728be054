const REDACTED = '[redacted]';

/**
 * Removes the API key from text that ends up in an error (a detail a proxy echoed, a cause's
 * message), so logging an error can never leak the credential.
 */
export function redactSecret(text: string, secret: string): string {
  if (secret.length === 0 || !text.includes(secret)) return text;
  return text.split(secret).join(REDACTED);
}
