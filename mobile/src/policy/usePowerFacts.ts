/** Battery level, charging and low-power mode from expo-battery (iOS / Android). */
import { BatteryState, useBatteryLevel, useBatteryState, useLowPowerMode } from 'expo-battery';

import type { PowerFacts } from './power';

export function usePowerFacts(): PowerFacts {
  const level = useBatteryLevel();
  const state = useBatteryState();
  const lowPowerMode = useLowPowerMode();
  return { level, charging: state === BatteryState.CHARGING || state === BatteryState.FULL, lowPowerMode };
}
