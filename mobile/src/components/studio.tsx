/** Pieces of the studio screens: on-air clock, mic meter, layout picker, people, destinations, comments. */
import { useEffect, useState } from 'react';
import { Pressable, Text, View } from 'react-native';

import type { Participant, StudioDestination } from '@/studio/events';

import { clock } from './format';
import { Button, colors, styles } from './ui';

export function OnAirClock({ startedAt, now = Date.now }: { startedAt: string | null; now?: () => number }) {
  const [tick, setTick] = useState(now());
  useEffect(() => {
    const timer = setInterval(() => setTick(now()), 1000);
    return () => clearInterval(timer);
  }, [now]);
  const start = startedAt ? new Date(startedAt).getTime() : tick;
  return (
    <Text style={{ color: '#fff', backgroundColor: colors.live, paddingHorizontal: 10, paddingVertical: 4, borderRadius: 6, fontWeight: '700', fontVariant: ['tabular-nums'] }} testID="on-air-clock" accessibilityLabel="Time on air">
      ● ON AIR {clock((tick - start) / 1000)}
    </Text>
  );
}

export function MicMeter({ level }: { level: number }) {
  const pct = Math.round(Math.max(0, Math.min(1, level)) * 100);
  return (
    <View
      style={{ height: 10, backgroundColor: '#1f2937', borderRadius: 5, overflow: 'hidden' }}
      role="meter"
      aria-label="Microphone level"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      testID="mic-meter"
    >
      <View style={{ width: `${pct}%`, height: '100%', backgroundColor: pct > 80 ? colors.warn : colors.ok }} />
    </View>
  );
}

export const LAYOUTS: { value: string; label: string }[] = [
  { value: 'solo', label: 'Solo' },
  { value: 'side_by_side', label: 'Side by side' },
  { value: 'grid', label: 'Grid' },
  { value: 'pip', label: 'Picture in picture' },
];

export function LayoutPicker({ value, onChange }: { value: string | undefined; onChange: (layout: string) => void }) {
  return (
    <View style={styles.row} role="radiogroup" aria-label="Layout">
      {LAYOUTS.map((l) => (
        <Pressable
          key={l.value}
          role="radio"
          aria-checked={l.value === value}
          accessibilityLabel={l.label}
          onPress={() => onChange(l.value)}
          style={[styles.button, styles.buttonSmall, l.value === value ? styles.primary : styles.secondary]}
          testID={`layout-${l.value}`}
        >
          <Text style={{ color: colors.text, fontSize: 13 }}>{l.label}</Text>
        </Pressable>
      ))}
    </View>
  );
}

export interface PersonActions {
  stage: (p: Participant) => void;
  backstage: (p: Participant) => void;
  mute: (p: Participant, muted: boolean) => void;
  remove: (p: Participant) => void;
}

export function PersonRow({ person, actions }: { person: Participant; actions: PersonActions }) {
  const isHost = person.role === 'host';
  return (
    <View style={[styles.row, { justifyContent: 'space-between' }]} testID={`person-${person.id}`}>
      <View style={{ flex: 1, minWidth: 120 }}>
        <Text style={styles.text}>
          {person.name}
          {isHost ? ' (you)' : ''}
        </Text>
        <Text style={styles.muted}>
          {person.online === false ? 'offline' : 'online'}
          {person.audio ? '' : ' · muted'}
          {person.video ? '' : ' · camera off'}
        </Text>
      </View>
      {person.on_stage ? (
        <Button title="Backstage" small kind="secondary" onPress={() => actions.backstage(person)} testID={`backstage-${person.id}`} />
      ) : (
        <Button title="On stage" small onPress={() => actions.stage(person)} testID={`stage-${person.id}`} disabled={!isHost && person.online === false} />
      )}
      <Button
        title={person.audio ? 'Mute' : 'Unmute'}
        small
        kind="secondary"
        onPress={() => actions.mute(person, person.audio)}
        testID={`mute-${person.id}`}
      />
      {isHost ? null : <Button title="Remove" small kind="danger" onPress={() => actions.remove(person)} testID={`remove-${person.id}`} />}
    </View>
  );
}

export function DestinationHealthRow({ destination }: { destination: StudioDestination }) {
  const state = destination.health.state ?? (destination.enabled ? destination.status : 'off');
  const colour = state === 'live' ? colors.ok : state === 'error' ? colors.live : colors.muted;
  const kbps = destination.health.bitrate_kbps;
  return (
    <View style={[styles.row, { justifyContent: 'space-between' }]} testID={`health-${destination.id}`}>
      <Text style={styles.text}>{destination.name}</Text>
      <Text style={{ color: colour }} testID={`health-state-${destination.id}`}>
        {state}
        {kbps ? ` · ${Math.round(kbps)} kbps` : ''}
        {destination.health.reconnects ? ` · ${destination.health.reconnects} reconnects` : ''}
      </Text>
    </View>
  );
}
