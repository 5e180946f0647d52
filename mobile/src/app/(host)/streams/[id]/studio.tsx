/**
 * The host's studio on the phone: own camera and microphone into the show's LiveKit room,
 * people on stage and backstage, layout, banner, go live / end with a confirmation and the
 * on-air clock, destination health and the comments. Actions go through the REST API (the
 * same services as the web studio); the studio websocket keeps the state current.
 */
import { router, useLocalSearchParams } from 'expo-router';
import { useCallback, useMemo, useState } from 'react';
import { Switch, Text, View } from 'react-native';

import type { Guest, RtcGrant } from '@/api/types';
import { unwrap } from '@/api/errors';
import { useApi, useAuth } from '@/auth/AuthProvider';
import { Comments } from '@/components/Comments';
import {
  DestinationHealthRow,
  LayoutPicker,
  OnAirClock,
  type PersonActions,
  PersonRow,
} from '@/components/studio';
import { useAction, useLoad } from '@/components/useLoad';
import { Button, Confirm, Field, Notice, Screen, Section, Title, styles } from '@/components/ui';
import { StudioRoom } from '@/media/StudioRoom';
import type { Connection } from '@/media/controller';
import { useMediaPlan } from '@/policy/useMediaPlan';
import { backstage, onStage } from '@/studio/events';
import { useStudio } from '@/studio/useStudio';

type Pending = null | 'go-live' | 'end' | { remove: number; name: string };

export default function Studio() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const streamId = Number(id);
  const api = useApi();
  const { session, state: auth } = useAuth();
  const server = auth.status === 'signed-in' ? auth.server : null;
  const socketAuth = useMemo(() => ({ access: () => session.accessToken() }), [session]);
  const studio = useStudio(server, streamId, socketAuth);
  const { busy, error, run } = useAction();
  const [pending, setPending] = useState<Pending>(null);
  const [banner, setBanner] = useState<string | null>(null);
  const [connection, setConnection] = useState<Connection>('idle');
  const [mediaError, setMediaError] = useState<string | null>(null);
  const [camera, setCamera] = useState(true);
  const [flips, setFlips] = useState(0);

  const grant = useLoad<RtcGrant>(
    async () => unwrap(await api.POST('/api/v1/streams/{id}/studio/rtc/', { params: { path: { id: streamId } } })),
    [api, streamId],
  );

  const state = studio.state;
  const live = state?.stream.status === 'live';
  const scene = state?.scene ?? {};
  const hostOnStage = scene.host_on_stage !== false;
  const hostMuted = scene.host_muted === true;
  const plan = useMediaPlan({
    wish: { camera, microphone: !hostMuted },
    onStage: hostOnStage,
    connected: connection === 'connected',
    hostOfLiveShow: live,
  });
  const onConnection = useCallback((c: Connection, e: string | null) => {
    setConnection(c);
    setMediaError(e);
  }, []);

  const setScene = (name: string, body: Record<string, unknown>) =>
    run(name, async () =>
      unwrap(await api.PATCH('/api/v1/streams/{id}/scene/', { params: { path: { id: streamId } }, body })),
    );

  // The API's answer is the new truth: show it at once (the socket's event, when it comes, agrees).
  const applyGuest = (guest: Guest | undefined) => {
    if (guest) {
      studio.apply({
        type: 'participant.updated',
        participant: { id: `guest-${guest.id}`, on_stage: guest.on_stage, audio: guest.audio_enabled, video: guest.video_enabled },
      });
    }
  };
  const applyStream = (stream: { id: number; status: string; started_at: string | null; ended_at: string | null } | undefined) => {
    if (stream) {
      studio.apply({
        type: 'stream.status',
        stream: { id: stream.id, status: stream.status, started_at: stream.started_at, ended_at: stream.ended_at },
      });
    }
  };

  const actions: PersonActions = {
    stage: (p) =>
      p.guest_id === null
        ? void setScene('host-stage', { host_on_stage: true })
        : void run(`stage-${p.id}`, async () =>
            unwrap(await api.POST('/api/v1/guests/{id}/stage/', { params: { path: { id: p.guest_id as number } } })),
          ).then(applyGuest),
    backstage: (p) =>
      p.guest_id === null
        ? void setScene('host-stage', { host_on_stage: false })
        : void run(`backstage-${p.id}`, async () =>
            unwrap(await api.POST('/api/v1/guests/{id}/backstage/', { params: { path: { id: p.guest_id as number } } })),
          ).then(applyGuest),
    mute: (p, muted) =>
      p.guest_id === null
        ? void setScene('host-mute', { host_muted: muted })
        : void run(`mute-${p.id}`, async () =>
            unwrap(
              await api.POST('/api/v1/guests/{id}/mute/', {
                params: { path: { id: p.guest_id as number } },
                body: { audio: !muted }, // the API: false mutes, true unmutes
              }),
            ),
          ).then(applyGuest),
    remove: (p) => p.guest_id !== null && setPending({ remove: p.guest_id, name: p.name }),
  };

  const confirm = async () => {
    const what = pending;
    setPending(null);
    if (what === 'go-live') {
      applyStream(
        await run('go-live', async () =>
          unwrap(await api.POST('/api/v1/streams/{id}/go-live/', { params: { path: { id: streamId } } })),
        ),
      );
    } else if (what === 'end') {
      const ended = await run('end', async () =>
        unwrap(await api.POST('/api/v1/streams/{id}/end/', { params: { path: { id: streamId } } })),
      );
      applyStream(ended);
    } else if (what && typeof what === 'object') {
      await run('remove', async () => {
        const result = await api.POST('/api/v1/guests/{id}/remove/', { params: { path: { id: what.remove } } });
        return unwrap(result);
      });
    }
  };

  const bannerText = banner ?? (typeof scene.banner_text === 'string' ? scene.banner_text : '');
  const bannerOn = scene.overlays?.banner === true;

  return (
    <Screen testID="studio">
      <View style={[styles.row, { justifyContent: 'space-between' }]}>
        <Title>{state?.stream.title ?? 'Studio'}</Title>
        {live ? <OnAirClock startedAt={state?.stream.started_at ?? null} /> : null}
      </View>
      <Text style={styles.muted} testID="studio-status">
        {studio.status === 'open' ? `Studio connected · ${state?.stream.status ?? ''}` : 'Connecting to the studio…'}
        {connection === 'connected' ? ' · camera live in the room' : ''}
      </Text>
      <Notice text={grant.error ?? mediaError ?? studio.lastError} />
      <StudioRoom grant={grant.data} plan={plan} flipCount={flips} onConnection={onConnection} testID="host-camera" />
      <View style={styles.row}>
        <Button title={camera ? 'Camera off' : 'Camera on'} small kind="secondary" onPress={() => setCamera(!camera)} testID="toggle-camera" />
        <Button title="Flip camera" small kind="secondary" onPress={() => setFlips(flips + 1)} />
      </View>
      <View style={styles.row}>
        {state?.stream.status === 'scheduled' ? (
          <Button title="Go live" kind="live" onPress={() => setPending('go-live')} busy={busy === 'go-live'} testID="go-live" />
        ) : null}
        {live ? <Button title="End show" kind="danger" onPress={() => setPending('end')} busy={busy === 'end'} testID="end-show" /> : null}
      </View>
      {state?.stream.status === 'ended' ? (
        <>
          <Notice text="The show has ended. The recording is on its way to your library." kind="info" testID="show-ended" />
          <Button title="Back to streams" kind="secondary" onPress={() => router.replace('/')} />
        </>
      ) : null}
      <Notice text={error} />
      {state ? (
        <>
          <Section title="On stage" testID="on-stage">
            {onStage(state).map((p) => (
              <PersonRow key={p.id} person={p} actions={actions} />
            ))}
            {onStage(state).length === 0 ? <Text style={styles.muted}>Nobody on stage.</Text> : null}
          </Section>
          <Section title="Backstage" testID="backstage">
            {backstage(state).map((p) => (
              <PersonRow key={p.id} person={p} actions={actions} />
            ))}
            {state.participants.find((p) => p.role === 'host' && !p.on_stage) ? (
              <PersonRow person={state.participants.find((p) => p.role === 'host' && !p.on_stage)!} actions={actions} />
            ) : null}
            {backstage(state).length === 0 ? <Text style={styles.muted}>Guests who join wait here.</Text> : null}
          </Section>
          <Section title="Layout">
            <LayoutPicker value={scene.layout} onChange={(layout) => void setScene('layout', { layout })} />
          </Section>
          <Section title="Banner">
            <Field label="Banner text" value={bannerText} onChangeText={setBanner} autoCapitalize="sentences" testID="banner-text" />
            <View style={styles.row}>
              <Switch
                value={bannerOn}
                onValueChange={(on) => void setScene('banner', { overlays: { banner: on }, banner_text: bannerText })}
                accessibilityLabel="Show the banner"
                testID="banner-toggle"
              />
              <Text style={styles.text}>Show the banner</Text>
              <Button title="Update" small kind="secondary" onPress={() => void setScene('banner', { banner_text: bannerText })} />
            </View>
          </Section>
          <Section title="Destinations" testID="destination-health">
            {state.destinations.map((d) => (
              <DestinationHealthRow key={d.id} destination={d} />
            ))}
            {state.destinations.length === 0 ? <Text style={styles.muted}>No destinations: add one on the stream page.</Text> : null}
          </Section>
        </>
      ) : null}
      <Comments api={api} streamId={streamId} />
      <Confirm
        visible={pending === 'go-live'}
        title="Go live?"
        message="The show starts on every enabled destination and is recorded."
        confirm="Go live"
        kind="live"
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
      />
      <Confirm
        visible={pending === 'end'}
        title="End the show?"
        message="Every destination stops and the recording is finished. This cannot be undone."
        confirm="End show"
        kind="danger"
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
      />
      <Confirm
        visible={typeof pending === 'object' && pending !== null}
        title="Remove this guest?"
        message={`${typeof pending === 'object' && pending ? pending.name : ''} leaves the studio and their link stops working.`}
        confirm="Remove"
        kind="danger"
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
      />
    </Screen>
  );
}
