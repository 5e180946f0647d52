/** The app's few building blocks: screen, text field, button, notice, confirmation dialog. */
import type { ReactNode } from 'react';
import {
  ActivityIndicator,
  Modal,
  Pressable,
  ScrollView,
  StyleSheet,
  Text,
  TextInput,
  type TextInputProps,
  View,
  type ViewStyle,
} from 'react-native';
import { SafeAreaView } from 'react-native-safe-area-context';

export const colors = {
  bg: '#0b1020',
  panel: '#151c2f',
  border: '#27314d',
  text: '#f3f4f6',
  muted: '#a3acc2',
  accent: '#4f7cff',
  live: '#e11d48',
  ok: '#16a34a',
  warn: '#d97706',
};

export function Screen({ children, scroll = true, testID }: { children: ReactNode; scroll?: boolean; testID?: string }) {
  return (
    <SafeAreaView style={styles.screen} edges={['bottom', 'left', 'right']} testID={testID}>
      {scroll ? <ScrollView contentContainerStyle={styles.content}>{children}</ScrollView> : children}
    </SafeAreaView>
  );
}

export function Title({ children }: { children: ReactNode }) {
  return (
    <Text style={styles.title} role="heading">
      {children}
    </Text>
  );
}

export function Section({ title, children, testID }: { title: string; children: ReactNode; testID?: string }) {
  return (
    <View style={styles.section} testID={testID}>
      <Text style={styles.sectionTitle} role="heading" aria-level={2}>
        {title}
      </Text>
      {children}
    </View>
  );
}

export function Field({ label, ...input }: { label: string } & TextInputProps) {
  return (
    <View style={styles.field}>
      <Text style={styles.label} nativeID={`label-${label}`}>
        {label}
      </Text>
      <TextInput
        accessibilityLabel={label}
        placeholderTextColor={colors.muted}
        style={styles.input}
        autoCapitalize="none"
        {...input}
      />
    </View>
  );
}

type ButtonKind = 'primary' | 'secondary' | 'danger' | 'live';

export function Button({
  title,
  onPress,
  kind = 'primary',
  disabled = false,
  busy = false,
  testID,
  style,
  small = false,
}: {
  title: string;
  onPress: () => void;
  kind?: ButtonKind;
  disabled?: boolean;
  busy?: boolean;
  testID?: string;
  style?: ViewStyle;
  small?: boolean;
}) {
  return (
    <Pressable
      accessibilityRole="button"
      accessibilityLabel={title}
      accessibilityState={{ disabled: disabled || busy }}
      disabled={disabled || busy}
      onPress={onPress}
      testID={testID}
      style={({ pressed }) => [
        styles.button,
        small && styles.buttonSmall,
        styles[kind],
        (disabled || busy) && styles.disabled,
        pressed && styles.pressed,
        style,
      ]}
    >
      {busy ? <ActivityIndicator color={colors.text} /> : <Text style={[styles.buttonText, small && styles.small]}>{title}</Text>}
    </Pressable>
  );
}

export function Notice({ text, kind = 'error', testID }: { text: string | null; kind?: 'error' | 'info'; testID?: string }) {
  if (!text) {
    return null;
  }
  return (
    <Text role={kind === 'error' ? 'alert' : 'status'} style={[styles.notice, kind === 'info' && styles.info]} testID={testID}>
      {text}
    </Text>
  );
}

/** A confirmation that works the same on phones and on the web build (Alert is a no-op there). */
export function Confirm({
  visible,
  title,
  message,
  confirm,
  onConfirm,
  onCancel,
  kind = 'primary',
}: {
  visible: boolean;
  title: string;
  message: string;
  confirm: string;
  onConfirm: () => void;
  onCancel: () => void;
  kind?: ButtonKind;
}) {
  return (
    <Modal visible={visible} transparent animationType="fade" onRequestClose={onCancel}>
      <View style={styles.backdrop}>
        <View style={styles.dialog} role="dialog" aria-label={title}>
          <Text style={styles.sectionTitle}>{title}</Text>
          <Text style={styles.muted}>{message}</Text>
          <View style={styles.row}>
            <Button title="Cancel" kind="secondary" onPress={onCancel} testID="confirm-cancel" />
            <Button title={confirm} kind={kind} onPress={onConfirm} testID="confirm-ok" />
          </View>
        </View>
      </View>
    </Modal>
  );
}

export const styles = StyleSheet.create({
  screen: { flex: 1, backgroundColor: colors.bg },
  content: { padding: 16, gap: 12 },
  title: { color: colors.text, fontSize: 24, fontWeight: '700' },
  section: { backgroundColor: colors.panel, borderRadius: 10, padding: 12, gap: 8, borderWidth: 1, borderColor: colors.border },
  sectionTitle: { color: colors.text, fontSize: 17, fontWeight: '600' },
  field: { gap: 4 },
  label: { color: colors.muted, fontSize: 13 },
  input: {
    color: colors.text,
    backgroundColor: '#0f1629',
    borderColor: colors.border,
    borderWidth: 1,
    borderRadius: 8,
    paddingHorizontal: 12,
    paddingVertical: 10,
    fontSize: 16,
  },
  button: { borderRadius: 8, paddingVertical: 12, paddingHorizontal: 16, alignItems: 'center', justifyContent: 'center' },
  buttonSmall: { paddingVertical: 6, paddingHorizontal: 10 },
  buttonText: { color: '#fff', fontWeight: '600', fontSize: 16 },
  small: { fontSize: 13 },
  primary: { backgroundColor: colors.accent },
  secondary: { backgroundColor: '#2a3552' },
  danger: { backgroundColor: '#9f1239' },
  live: { backgroundColor: colors.live },
  disabled: { opacity: 0.5 },
  pressed: { opacity: 0.8 },
  notice: { color: '#fecaca', backgroundColor: '#450a0a', padding: 10, borderRadius: 8 },
  info: { color: '#dbeafe', backgroundColor: '#172554' },
  muted: { color: colors.muted },
  text: { color: colors.text },
  row: { flexDirection: 'row', gap: 8, flexWrap: 'wrap', alignItems: 'center' },
  backdrop: { flex: 1, backgroundColor: 'rgba(0,0,0,0.6)', justifyContent: 'center', padding: 24 },
  dialog: { backgroundColor: colors.panel, borderRadius: 12, padding: 16, gap: 12 },
});
