import { useEffect, useRef, useState } from 'react';

import type { RtcGrant } from '@/api/types';
import type { MediaPlan } from '@/policy';

import { type MediaController, type MediaSnapshot } from './controller';

/** Drive a MediaController from props: start once, connect when a grant arrives, follow the plan. */
export function useMediaController(
  make: () => MediaController,
  grant: RtcGrant | null,
  plan: MediaPlan,
  flipCount: number,
): { controller: MediaController; snapshot: MediaSnapshot } {
  const [controller] = useState(make);
  const [snapshot, setSnapshot] = useState<MediaSnapshot>(() => controller.getSnapshot());
  // The plan the camera starts with; later plans are applied by the effect below.
  const firstPlan = useRef(plan);

  useEffect(() => {
    const unsubscribe = controller.subscribe(setSnapshot);
    void controller.start(firstPlan.current, 'user');
    return () => {
      unsubscribe();
      void controller.stop();
    };
  }, [controller]);

  useEffect(() => {
    if (grant) {
      void controller.connect(grant);
    }
  }, [controller, grant]);

  useEffect(() => {
    void controller.apply(plan);
  }, [controller, plan]);

  useEffect(() => {
    if (flipCount > 0) {
      void controller.flip();
    }
  }, [controller, flipCount]);

  return { controller, snapshot };
}
