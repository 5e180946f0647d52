/**
 * Where the refresh token and the server address live between launches: the platform's
 * secure storage (iOS Keychain, Android Keystore-backed) through expo-secure-store.
 * The web build has its own file (storage.web.ts).
 */
import * as SecureStore from 'expo-secure-store';

export async function readItem(key: string): Promise<string | null> {
  return SecureStore.getItemAsync(key);
}

export async function writeItem(key: string, value: string): Promise<void> {
  await SecureStore.setItemAsync(key, value, { keychainAccessible: SecureStore.AFTER_FIRST_UNLOCK });
}

export async function deleteItem(key: string): Promise<void> {
  await SecureStore.deleteItemAsync(key);
}
