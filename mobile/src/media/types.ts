import type { StyleProp, ViewStyle } from 'react-native';

import type { RtcGrant } from '@/api/types';
import type { MediaPlan } from '@/policy';

import type { Connection } from './controller';

/** The one component behind which the platform's media code lives (StudioRoom.tsx / .web.tsx). */
export interface StudioRoomProps {
  /** Join the room and publish when set; preview only (green room) while null. */
  grant: RtcGrant | null;
  plan: MediaPlan;
  /** Bump to switch between the front and the back camera. */
  flipCount?: number;
  onMicLevel?: (level: number) => void;
  onConnection?: (connection: Connection, error: string | null) => void;
  style?: StyleProp<ViewStyle>;
  testID?: string;
}
