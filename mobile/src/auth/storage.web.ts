/**
 * The web build has no secure enclave: tokens stay in this tab's sessionStorage, gone when
 * the tab closes (the web build exists to test the app in a browser, see README "Mobile").
 */
export async function readItem(key: string): Promise<string | null> {
  return window.sessionStorage.getItem(key);
}

export async function writeItem(key: string, value: string): Promise<void> {
  window.sessionStorage.setItem(key, value);
}

export async function deleteItem(key: string): Promise<void> {
  window.sessionStorage.removeItem(key);
}
