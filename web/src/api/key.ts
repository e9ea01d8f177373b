// The user's API key: entered once, kept in sessionStorage (gone when the tab closes), never logged.
const KEY = "pitwall.apiKey";

export interface KeyStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

function store(): KeyStore | null {
  try {
    return typeof sessionStorage === "undefined" ? null : sessionStorage;
  } catch {
    return null;
  }
}

export function loadKey(s: KeyStore | null = store()): string | null {
  const value = s?.getItem(KEY) ?? null;
  return value && value.trim() ? value : null;
}

export function saveKey(value: string, s: KeyStore | null = store()): void {
  s?.setItem(KEY, value.trim());
}

export function clearKey(s: KeyStore | null = store()): void {
  s?.removeItem(KEY);
}

/** For display only: the first 4 characters and the length, never the key. */
export function maskKey(value: string): string {
  return value.length <= 8 ? "••••" : `${value.slice(0, 4)}…(${value.length} chars)`;
}
