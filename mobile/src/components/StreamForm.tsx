import { useState } from 'react';
import { Pressable, Text, View } from 'react-native';

import type { components } from '@/api/schema';

import { when, parseLocal } from './format';
import { Button, Field, Notice, colors, styles } from './ui';

export type StreamInput = components['schemas']['StreamInput'];
type Resolution = components['schemas']['StreamResolutionEnum'];
const RESOLUTIONS: Resolution[] = ['480p', '720p', '1080p'];

export interface StreamFormValues {
  title: string;
  description?: string;
  scheduled_start?: string | null;
  resolution?: Resolution;
}

export function StreamForm({
  initial,
  submitLabel,
  onSubmit,
  busy,
}: {
  initial?: StreamFormValues;
  submitLabel: string;
  onSubmit: (values: StreamInput) => void;
  busy?: boolean;
}) {
  const [title, setTitle] = useState(initial?.title ?? '');
  const [description, setDescription] = useState(initial?.description ?? '');
  const [start, setStart] = useState(when(initial?.scheduled_start));
  const [resolution, setResolution] = useState<Resolution>(initial?.resolution ?? '720p');
  const [error, setError] = useState<string | null>(null);

  const submit = () => {
    if (!title.trim()) {
      setError('Give the stream a title.');
      return;
    }
    let scheduled: string | null;
    try {
      scheduled = parseLocal(start);
    } catch (e) {
      setError((e as Error).message);
      return;
    }
    setError(null);
    onSubmit({ title: title.trim(), description, scheduled_start: scheduled, resolution });
  };

  return (
    <View style={{ gap: 12 }}>
      <Field label="Title" value={title} onChangeText={setTitle} autoCapitalize="sentences" testID="stream-title" />
      <Field label="Description" value={description} onChangeText={setDescription} multiline autoCapitalize="sentences" testID="stream-description" />
      <Field label="Starts (YYYY-MM-DD HH:MM, optional)" value={start} onChangeText={setStart} placeholder="2026-05-01 18:30" testID="stream-start" />
      <Text style={styles.label}>Resolution</Text>
      <View style={styles.row} role="radiogroup" aria-label="Resolution">
        {RESOLUTIONS.map((r) => (
          <Pressable
            key={r}
            role="radio"
            aria-checked={r === resolution}
            accessibilityLabel={r}
            onPress={() => setResolution(r)}
            style={[styles.button, styles.buttonSmall, r === resolution ? styles.primary : styles.secondary]}
            testID={`resolution-${r}`}
          >
            <Text style={{ color: colors.text }}>{r}</Text>
          </Pressable>
        ))}
      </View>
      <Notice text={error} />
      <Button title={submitLabel} onPress={submit} busy={busy} testID="stream-submit" />
    </View>
  );
}
