import { Link, router } from 'expo-router';
import { FlatList, Pressable, RefreshControl, Text, View } from 'react-native';

import { results, unwrap } from '@/api/errors';
import type { components } from '@/api/schema';
import { useApi, useAuth } from '@/auth/AuthProvider';
import { when } from '@/components/format';
import { useLoad } from '@/components/useLoad';
import { Button, Notice, Screen, colors, styles } from '@/components/ui';

type Stream = components['schemas']['StreamOutput'];

export function StatusBadge({ status }: { status: string }) {
  const background = status === 'live' ? colors.live : status === 'ended' ? '#374151' : '#1d4ed8';
  return (
    <Text style={{ alignSelf: 'flex-start', color: '#fff', backgroundColor: background, paddingHorizontal: 8, paddingVertical: 2, borderRadius: 10, fontSize: 12, overflow: 'hidden' }} testID="status-badge">
      {status === 'live' ? 'ON AIR' : status}
    </Text>
  );
}

export default function Streams() {
  const api = useApi();
  const { session } = useAuth();
  const { data, error, loading, reload } = useLoad(
    async () => results(unwrap(await api.GET('/api/v1/streams/', {}))),
    [api],
  );

  return (
    <Screen scroll={false} testID="streams">
      <FlatList<Stream>
        data={data ?? []}
        keyExtractor={(s) => String(s.id)}
        contentContainerStyle={styles.content}
        refreshControl={<RefreshControl refreshing={loading} onRefresh={reload} tintColor={colors.text} />}
        ListHeaderComponent={
          <View style={{ gap: 12 }}>
            <View style={styles.row}>
              <Button title="New stream" onPress={() => router.push('/streams/new')} testID="new-stream" />
              <Button title="Sign out" kind="secondary" onPress={() => void session.signOut()} testID="sign-out" />
            </View>
            <Notice text={error} />
            {!loading && data?.length === 0 ? <Text style={styles.muted}>No streams yet: create your first one.</Text> : null}
          </View>
        }
        ItemSeparatorComponent={() => <View style={{ height: 8 }} />}
        renderItem={({ item }) => (
          <Link href={`/streams/${item.id}`} asChild>
            <Pressable style={styles.section} accessibilityRole="link" testID={`stream-${item.id}`}>
              <View style={[styles.row, { justifyContent: 'space-between' }]}>
                <Text style={styles.sectionTitle}>{item.title}</Text>
                <StatusBadge status={item.status} />
              </View>
              <Text style={styles.muted}>
                {item.scheduled_start ? `Starts ${when(item.scheduled_start)} · ` : ''}
                {item.resolution} · {item.fps} fps
              </Text>
            </Pressable>
          </Link>
        )}
      />
    </Screen>
  );
}
