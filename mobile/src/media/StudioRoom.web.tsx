/**
 * The web build's camera preview and LiveKit room: livekit-client on the browser's WebRTC.
 * Same props and controller as StudioRoom.tsx; the preview is a <video> element and the
 * microphone level comes from a Web Audio analyser.
 */
import type { RemoteTrack } from 'livekit-client';
import { createElement, useEffect, useState } from 'react';
import { StyleSheet, Text, View } from 'react-native';

import { MediaController } from './controller';
import type { StudioRoomProps } from './types';
import { useMediaController } from './useMediaController';

function attachRemoteAudio(track: RemoteTrack, attached: boolean): void {
  if (track.kind !== 'audio') {
    return;
  }
  if (attached) {
    const element = track.attach();
    element.dataset.remoteAudio = track.sid ?? '';
    document.body.appendChild(element);
  } else {
    track.detach().forEach((element) => element.remove());
  }
}

export function StudioRoom({ grant, plan, flipCount = 0, onMicLevel, onConnection, style, testID }: StudioRoomProps) {
  const { snapshot } = useMediaController(() => new MediaController(attachRemoteAudio), grant, plan, flipCount);
  const [element, setElement] = useState<HTMLVideoElement | null>(null);

  useEffect(() => onConnection?.(snapshot.connection, snapshot.error), [snapshot.connection, snapshot.error, onConnection]);

  useEffect(() => {
    const track = snapshot.video;
    if (!element || !track) {
      return;
    }
    track.attach(element);
    return () => {
      track.detach(element);
    };
  }, [snapshot.video, element]);

  useEffect(() => {
    const track = snapshot.audio?.mediaStreamTrack;
    if (!track || !onMicLevel) {
      return;
    }
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 512;
    context.createMediaStreamSource(new MediaStream([track])).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const timer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) {
        sum += s * s;
      }
      onMicLevel(Math.min(1, Math.sqrt(sum / samples.length) * 4));
    }, 100);
    return () => {
      clearInterval(timer);
      void context.close();
    };
  }, [snapshot.audio, onMicLevel]);

  return (
    <View style={[styles.box, style]} testID={testID}>
      {snapshot.video && plan.publish.camera ? (
        createElement('video', {
          ref: setElement,
          autoPlay: true,
          muted: true,
          playsInline: true,
          'data-testid': 'local-preview',
          style: { width: '100%', height: '100%', objectFit: 'cover', transform: snapshot.facing === 'user' ? 'scaleX(-1)' : undefined },
        })
      ) : (
        <Text style={styles.off}>{snapshot.error ?? 'Camera off'}</Text>
      )}
    </View>
  );
}

const styles = StyleSheet.create({
  box: { backgroundColor: '#000', aspectRatio: 16 / 9, justifyContent: 'center', overflow: 'hidden', borderRadius: 8 },
  off: { color: '#9ca3af', textAlign: 'center', padding: 12 },
});
