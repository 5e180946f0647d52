import { Redirect, Stack } from 'expo-router';
import { ActivityIndicator, View } from 'react-native';

import { useAuth } from '@/auth/AuthProvider';
import { colors } from '@/components/ui';

/** Host screens: only signed in. A failed token refresh lands here and goes back to sign-in. */
export default function HostLayout() {
  const { state } = useAuth();
  if (state.status === 'restoring') {
    return (
      <View style={{ flex: 1, justifyContent: 'center', backgroundColor: colors.bg }}>
        <ActivityIndicator color={colors.text} accessibilityLabel="Loading" />
      </View>
    );
  }
  if (state.status === 'signed-out') {
    return <Redirect href="/sign-in" />;
  }
  return (
    <Stack
      screenOptions={{
        headerStyle: { backgroundColor: colors.panel },
        headerTintColor: colors.text,
        contentStyle: { backgroundColor: colors.bg },
      }}
    >
      <Stack.Screen name="index" options={{ title: 'Streams' }} />
      <Stack.Screen name="streams/new" options={{ title: 'New stream' }} />
      <Stack.Screen name="streams/[id]/index" options={{ title: 'Stream' }} />
      <Stack.Screen name="streams/[id]/studio" options={{ title: 'Studio' }} />
    </Stack>
  );
}
