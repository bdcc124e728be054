/** The API key for this tab only (sessionStorage: gone when the tab closes, never sent anywhere but the API). */
const KEY = 'drover.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function storeKey(key: string): void {
  sessionStorage.setItem(KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(KEY);
}
