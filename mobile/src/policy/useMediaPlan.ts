/**
 * Live facts for the pure policies: the device (expo-device), the network (expo-network),
 * the battery and low-power mode (expo-battery; the Battery Status API on the web) and the app's state (AppState); the result
 * keeps the screen awake (expo-keep-awake) when the plan says so.
 */
import * as Device from 'expo-device';
import { activateKeepAwakeAsync, deactivateKeepAwake } from 'expo-keep-awake';
import { NetworkStateType, useNetworkState } from 'expo-network';
import { useEffect, useMemo, useState } from 'react';
import { AppState, type AppStateStatus, Platform } from 'react-native';

import type { PublishWish } from './background';
import type { NetworkKind } from './capture';
import { type MediaPlan, mediaPlan } from './index';
import { usePowerFacts } from './usePowerFacts';

const KEEP_AWAKE_TAG = 'streamus-on-stage';

export function networkKind(type: NetworkStateType | undefined): NetworkKind {
  switch (type) {
    case NetworkStateType.WIFI:
      return 'wifi';
    case NetworkStateType.ETHERNET:
      return 'ethernet';
    case NetworkStateType.CELLULAR:
      return 'cellular';
    case NetworkStateType.NONE:
      return 'none';
    case NetworkStateType.UNKNOWN:
    case undefined:
      return 'unknown';
    default:
      return 'other';
  }
}

export function useAppState(): AppStateStatus {
  const [state, setState] = useState<AppStateStatus>(AppState.currentState ?? 'active');
  useEffect(() => {
    const subscription = AppState.addEventListener('change', setState);
    return () => subscription.remove();
  }, []);
  return state;
}

export interface PlanWishes {
  wish: PublishWish;
  onStage: boolean;
  connected: boolean;
  hostOfLiveShow?: boolean;
}

export function useMediaPlan({ wish, onStage, connected, hostOfLiveShow = false }: PlanWishes): MediaPlan {
  const { level, charging, lowPowerMode } = usePowerFacts();
  const network = useNetworkState();
  const appState = useAppState();

  const kind = networkKind(network.type);
  const plan = useMemo(
    () =>
      mediaPlan({
        os: Platform.OS,
        device: { yearClass: Device.deviceYearClass, totalMemory: Device.totalMemory },
        network: kind,
        power: { level, charging, lowPowerMode },
        appState,
        wish,
        onStage,
        connected,
        hostOfLiveShow,
      }),
    // `wish` is compared by value: a new object with the same flags is the same wish.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [kind, level, charging, lowPowerMode, appState, wish.camera, wish.microphone, onStage, connected, hostOfLiveShow],
  );

  useEffect(() => {
    if (!plan.keepAwake) {
      return;
    }
    void activateKeepAwakeAsync(KEEP_AWAKE_TAG).catch(() => undefined);
    return () => {
      void deactivateKeepAwake(KEEP_AWAKE_TAG).catch(() => undefined);
    };
  }, [plan.keepAwake]);

  return plan;
}
