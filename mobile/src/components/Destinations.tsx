import { useState } from 'react';
import { Pressable, Switch, Text, View } from 'react-native';

import type { Api } from '@/api/client';
import { results, unwrap } from '@/api/errors';
import type { components } from '@/api/schema';

import { useAction, useLoad } from './useLoad';
import { Button, Field, Notice, Section, colors, styles } from './ui';

type Destination = components['schemas']['DestinationOutput'];
type Platform = components['schemas']['DestinationPlatformEnum'];
const PLATFORMS: { value: Platform; label: string }[] = [
  { value: 'youtube', label: 'YouTube' },
  { value: 'twitch', label: 'Twitch' },
  { value: 'facebook', label: 'Facebook' },
  { value: 'custom', label: 'Custom RTMP' },
];

/** A stream's destinations: listed with the key masked as the server sends it; added with a write-only key. */
export function Destinations({ api, streamId }: { api: Api; streamId: number }) {
  const list = useLoad(
    async () =>
      results(unwrap(await api.GET('/api/v1/streams/{id}/destinations/', { params: { path: { id: streamId } } }))),
    [api, streamId],
  );
  const { busy, error, run } = useAction();
  const [platform, setPlatform] = useState<Platform>('custom');
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [key, setKey] = useState('');

  const add = async () => {
    const created = await run('add', async () =>
      unwrap(
        await api.POST('/api/v1/streams/{id}/destinations/', {
          params: { path: { id: streamId } },
          body: { platform, name, rtmp_url: url, stream_key: key },
        }),
      ),
    );
    if (created) {
      // The key is gone from the form as soon as the server has it: it never shows again.
      setKey('');
      setName('');
      setUrl('');
      list.setData([...(list.data ?? []), created]);
    }
  };

  const toggle = async (d: Destination) => {
    const updated = await run(`toggle-${d.id}`, async () =>
      unwrap(await api.PATCH('/api/v1/destinations/{id}/', { params: { path: { id: d.id } }, body: { enabled: !d.enabled } })),
    );
    if (updated) {
      list.setData((list.data ?? []).map((x) => (x.id === d.id ? updated : x)));
    }
  };

  const remove = async (d: Destination) => {
    const done = await run(`delete-${d.id}`, async () => {
      const result = await api.DELETE('/api/v1/destinations/{id}/', { params: { path: { id: d.id } } });
      unwrap(result);
      return true;
    });
    if (done) {
      list.setData((list.data ?? []).filter((x) => x.id !== d.id));
    }
  };

  return (
    <Section title="Destinations" testID="destinations">
      <Notice text={list.error ?? error} />
      {(list.data ?? []).map((d) => (
        <View key={d.id} style={[styles.row, { justifyContent: 'space-between' }]} testID={`destination-${d.id}`}>
          <View style={{ flex: 1 }}>
            <Text style={styles.text}>{d.name || d.platform}</Text>
            <Text style={styles.muted} numberOfLines={1}>
              {d.rtmp_url}
            </Text>
            <Text style={styles.muted} testID={`destination-key-${d.id}`}>
              Stream key {d.has_stream_key ? d.stream_key : 'not set'}
            </Text>
          </View>
          <Switch value={d.enabled} onValueChange={() => void toggle(d)} accessibilityLabel={`Send to ${d.name || d.platform}`} />
          <Button title="Delete" kind="danger" small onPress={() => void remove(d)} busy={busy === `delete-${d.id}`} />
        </View>
      ))}
      {list.data?.length === 0 ? <Text style={styles.muted}>No destinations yet.</Text> : null}
      <Text style={styles.label}>Add a destination</Text>
      <View style={styles.row} role="radiogroup" aria-label="Platform">
        {PLATFORMS.map((p) => (
          <Pressable
            key={p.value}
            role="radio"
            aria-checked={p.value === platform}
            accessibilityLabel={p.label}
            onPress={() => setPlatform(p.value)}
            style={[styles.button, styles.buttonSmall, p.value === platform ? styles.primary : styles.secondary]}
            testID={`platform-${p.value}`}
          >
            <Text style={{ color: colors.text }}>{p.label}</Text>
          </Pressable>
        ))}
      </View>
      <Field label="Name" value={name} onChangeText={setName} testID="destination-name" />
      <Field label="RTMP URL (blank: the platform's own)" value={url} onChangeText={setUrl} keyboardType="url" testID="destination-url" />
      <Field label="Stream key" value={key} onChangeText={setKey} secureTextEntry autoCorrect={false} testID="destination-key" />
      <Button title="Add destination" onPress={() => void add()} busy={busy === 'add'} testID="destination-add" />
    </Section>
  );
}
