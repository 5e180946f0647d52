/**
 * All mobile policies in one decision: what to capture and publish, given the device, the
 * network, the battery and the app's state. Pure; `useMediaPlan` feeds it live facts.
 */
import { type PublishWish, type AppStateName, publishFor } from './background';
import { type CapturePlan, type DeviceFacts, type NetworkKind, atFrameRate, capturePlan, deviceClass } from './capture';
import { type EncoderChoice, chooseEncoder } from './encoding';
import { type PowerFacts, frameRate } from './power';
import { shouldKeepAwake } from './wake';

export interface MediaFacts {
  os: string;
  device: DeviceFacts;
  network: NetworkKind;
  power: PowerFacts;
  appState: AppStateName;
  wish: PublishWish;
  onStage: boolean;
  connected: boolean;
  hostOfLiveShow?: boolean;
  browserH264PowerEfficient?: boolean;
}

export interface MediaPlan {
  encoder: EncoderChoice;
  capture: CapturePlan;
  publish: PublishWish;
  keepAwake: boolean;
}

export function mediaPlan(facts: MediaFacts): MediaPlan {
  const fps = frameRate(facts.power);
  const capture = atFrameRate(capturePlan({ device: deviceClass(facts.device), network: facts.network }), fps);
  return {
    encoder: chooseEncoder({ os: facts.os, browserH264PowerEfficient: facts.browserH264PowerEfficient }),
    capture,
    publish: publishFor(facts.appState, facts.wish),
    keepAwake: shouldKeepAwake({
      onStage: facts.onStage,
      connected: facts.connected,
      hostOfLiveShow: facts.hostOfLiveShow,
    }),
  };
}

export type { MediaPlan as Plan };
