/**
 * Keep the screen awake while this person is on stage (or is the host of a live show): a
 * phone that dims and locks mid-show drops the camera. Backstage and the green room let the
 * screen sleep as usual.
 */

export interface WakeFacts {
  onStage: boolean;
  connected: boolean;
  hostOfLiveShow?: boolean;
}

export function shouldKeepAwake({ onStage, connected, hostOfLiveShow = false }: WakeFacts): boolean {
  return connected && (onStage || hostOfLiveShow);
}
