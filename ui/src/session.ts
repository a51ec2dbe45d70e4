// The API key lives in sessionStorage only: gone with the tab, never in a URL, a log or
// localStorage. `Storage` is injected so the logic is testable without a browser.
const KEY = "shipyard.apiKey";

export class Session {
  constructor(private readonly storage: Storage) {}

  get key(): string | null {
    return this.storage.getItem(KEY);
  }

  signIn(key: string): void {
    this.storage.setItem(KEY, key.trim());
  }

  signOut(): void {
    this.storage.removeItem(KEY);
  }
}
