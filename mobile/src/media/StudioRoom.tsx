/**
 * The phone's camera preview and LiveKit room (iOS / Android): @livekit/react-native over
 * @livekit/react-native-webrtc. The only native media code in the app; StudioRoom.web.tsx
 * is the browser's twin, and media/controller.ts holds what both share.
 */
import { AudioSession, VideoTrack, registerGlobals, useTrackVolume } from '@livekit/react-native';
import { Track } from 'livekit-client';
import { useEffect, useMemo } from 'react';
import { StyleSheet, Text, View } from 'react-native';

import { MediaController } from './controller';
import type { StudioRoomProps } from './types';
import { useMediaController } from './useMediaController';

registerGlobals();

export function StudioRoom({ grant, plan, flipCount = 0, onMicLevel, onConnection, style, testID }: StudioRoomProps) {
  useEffect(() => {
    void AudioSession.startAudioSession();
    return () => {
      void AudioSession.stopAudioSession();
    };
  }, []);
  const { snapshot } = useMediaController(() => new MediaController(), grant, plan, flipCount);
  const level = useTrackVolume(snapshot.audio ?? undefined);
  useEffect(() => onMicLevel?.(level), [level, onMicLevel]);
  useEffect(() => onConnection?.(snapshot.connection, snapshot.error), [snapshot.connection, snapshot.error, onConnection]);

  const trackRef = useMemo(
    () =>
      snapshot.video
        ? ({ participant: undefined, publication: undefined, source: Track.Source.Camera, track: snapshot.video } as never)
        : undefined,
    [snapshot.video],
  );
  return (
    <View style={[styles.box, style]} testID={testID}>
      {trackRef && plan.publish.camera ? (
        <VideoTrack trackRef={trackRef} style={styles.video} objectFit="cover" mirror={snapshot.facing === 'user'} />
      ) : (
        <Text style={styles.off}>{snapshot.error ?? 'Camera off'}</Text>
      )}
    </View>
  );
}

const styles = StyleSheet.create({
  box: { backgroundColor: '#000', aspectRatio: 16 / 9, justifyContent: 'center', overflow: 'hidden', borderRadius: 8 },
  video: { flex: 1 },
  off: { color: '#9ca3af', textAlign: 'center', padding: 12 },
});
