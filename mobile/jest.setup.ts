/**
 * Test doubles at the module boundary, where the real thing cannot run under Jest:
 * LiveKit's native and browser SDKs (no WebRTC in Node), the platform's secure storage, and
 * the device sensors the policies read. Everything above them (controller, screens,
 * policies, API client, socket) is the app's real code.
 */
/* eslint-disable @typescript-eslint/no-require-imports */

jest.mock('expo-secure-store', () => {
  const store = new Map<string, string>();
  return {
    AFTER_FIRST_UNLOCK: 'AFTER_FIRST_UNLOCK',
    getItemAsync: jest.fn(async (key: string) => store.get(key) ?? null),
    setItemAsync: jest.fn(async (key: string, value: string) => void store.set(key, value)),
    deleteItemAsync: jest.fn(async (key: string) => void store.delete(key)),
    __store: store,
  };
});

jest.mock('livekit-client', () => require('./__tests__/support/livekitMock').livekitClient);
jest.mock('@livekit/react-native', () => require('./__tests__/support/livekitMock').livekitReactNative);

jest.mock('expo-battery', () => ({
  BatteryState: { UNKNOWN: 0, UNPLUGGED: 1, CHARGING: 2, FULL: 3 },
  useBatteryLevel: jest.fn(() => 0.8),
  useBatteryState: jest.fn(() => 1),
  useLowPowerMode: jest.fn(() => false),
}));

jest.mock('expo-network', () => ({
  NetworkStateType: { NONE: 'NONE', UNKNOWN: 'UNKNOWN', CELLULAR: 'CELLULAR', WIFI: 'WIFI', ETHERNET: 'ETHERNET', OTHER: 'OTHER' },
  useNetworkState: jest.fn(() => ({ type: 'WIFI', isConnected: true })),
}));

jest.mock('expo-keep-awake', () => ({
  activateKeepAwakeAsync: jest.fn(async () => undefined),
  deactivateKeepAwake: jest.fn(async () => undefined),
}));

jest.mock('expo-device', () => ({ deviceYearClass: 2022, totalMemory: 6 * 1024 ** 3 }));

jest.mock('expo-router', () => require('./__tests__/support/routerMock').expoRouter);
jest.mock('expo-linking', () => ({ useLinkingURL: jest.fn(() => null) }));
