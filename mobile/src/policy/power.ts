/**
 * Frame rate by battery: a phone that is low (≤ 20 %, not charging) or in low-power mode
 * sends 15 fps instead of 30, which roughly halves the encoder's work (and the radio's);
 * very low (≤ 10 %) goes to 10 fps. Charging lifts the limit whatever the level.
 */

export interface PowerFacts {
  /** 0..1, or -1 / null when unknown (expo-battery on the web, simulators). */
  level: number | null;
  charging: boolean;
  lowPowerMode: boolean;
}

export const NORMAL_FPS = 30;
export const LOW_BATTERY_FPS = 15;
export const CRITICAL_BATTERY_FPS = 10;
export const LOW_BATTERY_LEVEL = 0.2;
export const CRITICAL_BATTERY_LEVEL = 0.1;

export function frameRate({ level, charging, lowPowerMode }: PowerFacts, wanted = NORMAL_FPS): number {
  if (charging) {
    return wanted;
  }
  const known = level !== null && level >= 0;
  if (known && level <= CRITICAL_BATTERY_LEVEL) {
    return Math.min(wanted, CRITICAL_BATTERY_FPS);
  }
  if (lowPowerMode || (known && level <= LOW_BATTERY_LEVEL)) {
    return Math.min(wanted, LOW_BATTERY_FPS);
  }
  return wanted;
}
