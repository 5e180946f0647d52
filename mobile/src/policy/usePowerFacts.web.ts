/**
 * The web build's battery: the Battery Status API where the browser has it (expo-battery's
 * listeners do not exist on the web). Browsers have no low-power mode to read.
 */
import { useEffect, useState } from 'react';

import type { PowerFacts } from './power';

interface BatteryManager extends EventTarget {
  level: number;
  charging: boolean;
}

export function usePowerFacts(): PowerFacts {
  const [facts, setFacts] = useState<PowerFacts>({ level: null, charging: false, lowPowerMode: false });
  useEffect(() => {
    const nav = navigator as Navigator & { getBattery?: () => Promise<BatteryManager> };
    if (!nav.getBattery) {
      return;
    }
    let battery: BatteryManager | null = null;
    const read = () => battery && setFacts({ level: battery.level, charging: battery.charging, lowPowerMode: false });
    void nav.getBattery().then((b) => {
      battery = b;
      read();
      b.addEventListener('levelchange', read);
      b.addEventListener('chargingchange', read);
    });
    return () => {
      battery?.removeEventListener('levelchange', read);
      battery?.removeEventListener('chargingchange', read);
    };
  }, []);
  return facts;
}
