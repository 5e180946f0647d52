/**
 * Capture resolution by device class and network, with simulcast layers to match.
 *
 * A capable phone on Wi-Fi sends 720p; a mid-range phone, or any phone on a cellular link,
 * sends 540p; an old phone or a slow link sends 360p. Each top layer carries smaller
 * simulcast layers under it, so the server's compositor can take the one its tile needs
 * (a 2x2 grid tile never needs 720p) without the phone encoding what nobody receives.
 */

export type DeviceClass = 'high' | 'mid' | 'low';
export type NetworkKind = 'wifi' | 'ethernet' | 'cellular' | 'other' | 'none' | 'unknown';

export interface DeviceFacts {
  /** expo-device deviceYearClass: the year the phone's hardware was high end. */
  yearClass: number | null;
  /** Bytes of RAM (expo-device totalMemory). */
  totalMemory: number | null;
}

const GIB = 1024 ** 3;

/** high: ≥ 2019-class hardware with ≥ 4 GiB; low: ≤ 2015-class or < 2 GiB; mid: the rest. */
export function deviceClass({ yearClass, totalMemory }: DeviceFacts): DeviceClass {
  if ((yearClass !== null && yearClass <= 2015) || (totalMemory !== null && totalMemory < 2 * GIB)) {
    return 'low';
  }
  if (yearClass !== null && yearClass >= 2019 && (totalMemory === null || totalMemory >= 4 * GIB)) {
    return 'high';
  }
  if (yearClass === null && totalMemory !== null && totalMemory >= 6 * GIB) {
    return 'high';
  }
  return 'mid';
}

export interface Layer {
  width: number;
  height: number;
  fps: number;
  maxBitrate: number;
}

export interface CapturePlan {
  /** The captured (and top simulcast) layer. */
  top: Layer;
  /** Smaller layers under it, smallest first (LiveKit's `videoSimulcastLayers`). */
  simulcast: Layer[];
}

// Bitrates for H.264/VP8 at 30 fps with camera content (LiveKit's presets, rounded).
export const P720: Layer = { width: 1280, height: 720, fps: 30, maxBitrate: 1_700_000 };
export const P540: Layer = { width: 960, height: 540, fps: 30, maxBitrate: 1_100_000 };
export const P360: Layer = { width: 640, height: 360, fps: 30, maxBitrate: 600_000 };
export const P180: Layer = { width: 320, height: 180, fps: 15, maxBitrate: 160_000 };

export interface CaptureInput {
  device: DeviceClass;
  network: NetworkKind;
  /** Cellular generation when known (expo-network does not say; 3G and older shrink to 360p). */
  slowLink?: boolean;
}

export function capturePlan({ device, network, slowLink = false }: CaptureInput): CapturePlan {
  const constrained = network === 'cellular' || network === 'unknown' || network === 'other';
  let top: Layer;
  if (device === 'low' || slowLink || network === 'none') {
    top = P360;
  } else if (device === 'mid' || constrained) {
    top = P540;
  } else {
    top = P720;
  }
  const simulcast = top === P360 ? [P180] : [P180, P360];
  return { top, simulcast };
}

/** The same plan at another frame rate (power policy): bitrates scale with fps, floors kept. */
export function atFrameRate(plan: CapturePlan, fps: number): CapturePlan {
  const scale = (layer: Layer): Layer => {
    const capped = Math.min(layer.fps, fps);
    return { ...layer, fps: capped, maxBitrate: Math.round((layer.maxBitrate * capped) / layer.fps) };
  };
  return { top: scale(plan.top), simulcast: plan.simulcast.map(scale) };
}
