import { router, useLocalSearchParams } from 'expo-router';
import { useState } from 'react';
import { Share, Text } from 'react-native';

import { unwrap } from '@/api/errors';
import { useApi } from '@/auth/AuthProvider';
import { Destinations } from '@/components/Destinations';
import { StreamForm, type StreamInput } from '@/components/StreamForm';
import { useAction, useLoad } from '@/components/useLoad';
import { Button, Notice, Screen, Section, Title, styles } from '@/components/ui';

import { StatusBadge } from '../../index';

export default function StreamDetail() {
  const { id } = useLocalSearchParams<{ id: string }>();
  const streamId = Number(id);
  const api = useApi();
  const stream = useLoad(
    async () => unwrap(await api.GET('/api/v1/streams/{id}/', { params: { path: { id: streamId } } })),
    [api, streamId],
  );
  const { busy, error, run } = useAction();
  const [saved, setSaved] = useState<string | null>(null);
  const [invite, setInvite] = useState<string | null>(null);

  const save = async (values: StreamInput) => {
    const updated = await run('save', async () =>
      unwrap(await api.PATCH('/api/v1/streams/{id}/', { params: { path: { id: streamId } }, body: values })),
    );
    if (updated) {
      stream.setData(updated);
      setSaved('Saved.');
    }
  };

  const inviteGuest = async () => {
    const created = await run('invite', async () =>
      unwrap(await api.POST('/api/v1/streams/{id}/guests/', { params: { path: { id: streamId } }, body: { display_name: '', role: 'guest' } })),
    );
    if (created) {
      setInvite(created.join_url);
    }
  };

  if (!stream.data) {
    return (
      <Screen>
        <Notice text={stream.error} />
      </Screen>
    );
  }
  const s = stream.data;
  return (
    <Screen testID="stream-detail">
      <Title>{s.title}</Title>
      <StatusBadge status={s.status} />
      <Button title="Open studio" kind="live" onPress={() => router.push(`/streams/${streamId}/studio`)} testID="open-studio" disabled={s.status === 'ended'} />
      <Section title="Guests">
        <Text style={styles.muted}>Invite links work for 7 days; anyone with the link can join backstage.</Text>
        <Button title="Create invite link" kind="secondary" onPress={() => void inviteGuest()} busy={busy === 'invite'} testID="invite" />
        {invite ? (
          <>
            <Text style={styles.text} selectable testID="invite-url">
              {invite}
            </Text>
            <Button title="Share link" kind="secondary" small onPress={() => void Share.share({ message: invite })} />
          </>
        ) : null}
      </Section>
      <Destinations api={api} streamId={streamId} />
      <Section title="Details">
        <StreamForm
          key={s.updated_at}
          initial={{ title: s.title, description: s.description, scheduled_start: s.scheduled_start, resolution: s.resolution }}
          submitLabel="Save"
          onSubmit={save}
          busy={busy === 'save'}
        />
        <Notice text={saved} kind="info" />
      </Section>
      <Notice text={error} />
    </Screen>
  );
}
