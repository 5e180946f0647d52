/**
 * A guest's way in, from an invite link: name → green room (camera preview, microphone level,
 * flip camera) → backstage → on stage. The invite token is the credential (no account); the
 * screen tells the guest when the host mutes them, removes them, or ends the show.
 */
import * as Linking from 'expo-linking';
import { useLocalSearchParams } from 'expo-router';
import { useCallback, useMemo, useState } from 'react';
import { Text, View } from 'react-native';

import { createPublicApi } from '@/api/client';
import type { JoinInfo, RtcGrant } from '@/api/types';
import { unwrap } from '@/api/errors';
import { MicMeter } from '@/components/studio';
import { useAction, useLoad } from '@/components/useLoad';
import { Button, Field, Notice, Screen, Section, Title, styles } from '@/components/ui';
import { defaultServerUrl } from '@/config';
import { StudioRoom } from '@/media/StudioRoom';
import type { Connection } from '@/media/controller';
import { useMediaPlan } from '@/policy/useMediaPlan';
import { serverForJoin } from '@/studio/joinLink';
import { useStudio } from '@/studio/useStudio';

type Step = 'name' | 'green-room' | 'studio';

export default function Join() {
  const params = useLocalSearchParams<{ token: string; server?: string }>();
  const token = String(params.token ?? '');
  const linkUrl = Linking.useLinkingURL();
  const server = useMemo(
    () => serverForJoin({ param: params.server, linkUrl, fallback: defaultServerUrl() }),
    [params.server, linkUrl],
  );
  const api = useMemo(() => createPublicApi(server), [server]);
  const invite = useLoad<JoinInfo>(
    async () => unwrap(await api.GET('/api/v1/join/{token}/', { params: { path: { token } } })),
    [api, token],
  );
  const [step, setStep] = useState<Step>('name');
  const [name, setName] = useState<string | null>(null);
  const [grant, setGrant] = useState<RtcGrant | null>(null);
  const [camera, setCamera] = useState(true);
  const [microphone, setMicrophone] = useState(true);
  const [flips, setFlips] = useState(0);
  const [level, setLevel] = useState(0);
  const [connection, setConnection] = useState<Connection>('idle');
  const [mediaError, setMediaError] = useState<string | null>(null);
  const { busy, error, run } = useAction();

  const socketAuth = useMemo(() => (step === 'studio' ? { token } : null), [step, token]);
  const studio = useStudio(step === 'studio' ? server : null, invite.data?.stream.id ?? null, socketAuth);
  const me = studio.state?.you ?? null;
  const mutedByHost = me !== null && !me.audio;
  const hiddenByHost = me !== null && !me.video;
  const onStage = me?.on_stage === true;
  const ended =
    studio.state?.ended ??
    (studio.closeCode === 4410 ? 'Your invite is no longer valid.' : null) ??
    (studio.state?.stream.status === 'ended' ? 'The show has ended. Thank you for joining!' : null);

  const plan = useMediaPlan({
    wish: { camera: camera && !hiddenByHost, microphone: microphone && !mutedByHost },
    onStage,
    connected: connection === 'connected',
  });
  const onConnection = useCallback((c: Connection, e: string | null) => {
    setConnection(c);
    setMediaError(e);
  }, []);

  const displayName = name ?? invite.data?.guest.display_name ?? '';

  const saveName = async () => {
    const ok = await run('name', async () =>
      unwrap(await api.POST('/api/v1/join/{token}/', { params: { path: { token } }, body: { display_name: displayName.trim() } })),
    );
    if (ok) {
      setStep('green-room');
    }
  };

  const joinBackstage = async () => {
    const issued = await run('join', async () =>
      unwrap(await api.POST('/api/v1/join/{token}/rtc/', { params: { path: { token } } })),
    );
    if (issued) {
      setGrant(issued);
      setStep('studio');
    }
  };

  const [asked, setAsked] = useState(false);
  const askUnmute = async () => {
    const ok = await run('ask', async () => {
      unwrap(await api.POST('/api/v1/join/{token}/unmute-request/', { params: { path: { token } } }));
      return true;
    });
    setAsked(Boolean(ok));
  };

  const toggleMic = async () => {
    const next = !microphone;
    setMicrophone(next);
    if (step === 'studio') {
      await run('mute', async () =>
        unwrap(await api.POST('/api/v1/join/{token}/mute/', { params: { path: { token } }, body: { audio: next } })),
      );
    }
  };

  if (invite.loading && !invite.data) {
    return (
      <Screen testID="join-loading">
        <Text style={styles.muted}>Opening your invite…</Text>
      </Screen>
    );
  }
  if (!invite.data) {
    return (
      <Screen testID="join-invalid">
        <Title>This invite cannot be used</Title>
        <Notice text={invite.error} />
        <Text style={styles.muted}>Ask the host for a new link.</Text>
      </Screen>
    );
  }
  if (ended) {
    return (
      <Screen testID="join-ended">
        <Title>{invite.data.stream.title}</Title>
        <Notice text={ended} kind="info" testID="ended-reason" />
      </Screen>
    );
  }

  return (
    <Screen testID={`join-${step}`}>
      <Title>{invite.data.stream.title}</Title>
      {step === 'name' ? (
        <Section title="Your name">
          <Text style={styles.muted}>This is how the host and the audience will see you.</Text>
          <Field label="Name" value={displayName} onChangeText={setName} autoCapitalize="words" testID="guest-name" />
          <Notice text={error} />
          <Button title="Continue" onPress={() => void saveName()} busy={busy === 'name'} disabled={!displayName.trim()} testID="name-continue" />
        </Section>
      ) : (
        <>
          {step === 'studio' && onStage ? (
            <Text style={[styles.live, { color: '#fff', fontWeight: '700', padding: 8, borderRadius: 8, textAlign: 'center' }]} testID="guest-status">
              ● You are ON STAGE
            </Text>
          ) : (
            <Text style={styles.muted} testID="guest-status">
              {step === 'green-room'
                ? 'Green room: check your camera and microphone.'
                : 'You are backstage. The host will bring you on stage.'}
            </Text>
          )}
          {mutedByHost ? (
            <>
              <Notice text="The host muted your microphone." kind="info" testID="muted-by-host" />
              <Button
                title={asked ? 'Asked the host to unmute you' : 'Ask to be unmuted'}
                small
                kind="secondary"
                disabled={asked}
                onPress={() => void askUnmute()}
                testID="ask-unmute"
              />
            </>
          ) : null}
          {hiddenByHost ? <Notice text="The host turned your camera off." kind="info" /> : null}
          <StudioRoom
            grant={step === 'studio' ? grant : null}
            plan={plan}
            flipCount={flips}
            onMicLevel={setLevel}
            onConnection={onConnection}
            testID="guest-camera"
          />
          <Text style={styles.label}>Microphone</Text>
          <MicMeter level={microphone && !mutedByHost ? level : 0} />
          <View style={styles.row}>
            <Button title={camera ? 'Camera off' : 'Camera on'} small kind="secondary" onPress={() => setCamera(!camera)} testID="guest-camera-toggle" />
            <Button title={microphone ? 'Mute me' : 'Unmute me'} small kind="secondary" onPress={() => void toggleMic()} testID="guest-mic-toggle" />
            <Button title="Flip camera" small kind="secondary" onPress={() => setFlips(flips + 1)} testID="flip-camera" />
          </View>
          <Notice text={error ?? mediaError} />
          {step === 'green-room' ? (
            <Button title="Join backstage" onPress={() => void joinBackstage()} busy={busy === 'join'} testID="join-backstage" />
          ) : null}
        </>
      )}
    </Screen>
  );
}
