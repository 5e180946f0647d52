/**
 * Audio only while the app is in the background, video back when it returns.
 *
 * In the background the camera is taken away anyway (iOS) or would drain the battery with
 * nobody looking (Android); the microphone keeps going so a guest can still talk (the audio
 * background mode is declared in app.json). Coming back restores the camera only if the
 * person had it on: a camera they turned off stays off.
 */

export type AppStateName = 'active' | 'background' | 'inactive' | 'unknown' | 'extension';

export interface PublishWish {
  camera: boolean;
  microphone: boolean;
}

export function publishFor(appState: AppStateName, wish: PublishWish): PublishWish {
  const foreground = appState === 'active' || appState === 'unknown';
  return { camera: wish.camera && foreground, microphone: wish.microphone };
}
