import { useEffect } from 'react';
import { Text, View } from 'react-native';

import type { Api } from '@/api/client';
import { unwrap } from '@/api/errors';
import type { components } from '@/api/schema';

import { useAction, useLoad } from './useLoad';
import { Button, Notice, Section, colors, styles } from './ui';

type Comment = components['schemas']['CommentOutput'];
type Action = 'approve' | 'hide' | 'show' | 'take-off';
/** New comments arrive this often (the comment panel's socket is for browsers; the app polls). */
const POLL_MS = 4000;
const SHOWN = 30;

export function Comments({ api, streamId }: { api: Api; streamId: number }) {
  const list = useLoad(
    async () => unwrap(await api.GET('/api/v1/streams/{id}/comments/', { params: { path: { id: streamId } } })),
    [api, streamId],
  );
  const { busy, error, run } = useAction();
  const { reload } = list;
  useEffect(() => {
    const timer = setInterval(() => void reload(), POLL_MS);
    return () => clearInterval(timer);
  }, [reload]);

  const act = async (comment: Comment, action: Action) => {
    const updated = await run(`${action}-${comment.id}`, async () =>
      unwrap(await api.POST('/api/v1/comments/{id}/{action}/', { params: { path: { id: comment.id, action } } })),
    );
    if (updated) {
      // Showing one comment takes any other off screen: reload rather than guess.
      void reload();
    }
  };

  const comments = (list.data ?? []).slice(-SHOWN).reverse();
  return (
    <Section title="Comments" testID="comments">
      <Notice text={list.error ?? error} />
      {comments.length === 0 ? <Text style={styles.muted}>No comments yet.</Text> : null}
      {comments.map((c) => (
        <View key={c.id} style={{ gap: 4, borderTopWidth: 1, borderTopColor: colors.border, paddingTop: 6 }} testID={`comment-${c.id}`}>
          <Text style={styles.text}>
            <Text style={{ fontWeight: '700' }}>{c.author_name}</Text> <Text style={styles.muted}>({c.platform})</Text> {c.text}
          </Text>
          <View style={styles.row}>
            <Text style={[styles.muted, { fontSize: 12 }]} testID={`comment-status-${c.id}`}>
              {c.on_screen ? 'on screen' : c.status}
            </Text>
            {c.status !== 'approved' ? (
              <Button title="Approve" small kind="secondary" onPress={() => void act(c, 'approve')} busy={busy === `approve-${c.id}`} />
            ) : null}
            {c.status !== 'hidden' ? (
              <Button title="Hide" small kind="secondary" onPress={() => void act(c, 'hide')} busy={busy === `hide-${c.id}`} />
            ) : null}
            {c.on_screen ? (
              <Button title="Take off screen" small kind="secondary" onPress={() => void act(c, 'take-off')} />
            ) : (
              <Button title="Show on screen" small onPress={() => void act(c, 'show')} busy={busy === `show-${c.id}`} testID={`show-${c.id}`} />
            )}
          </View>
        </View>
      ))}
    </Section>
  );
}
