import { Redirect, router } from 'expo-router';
import { useEffect, useState } from 'react';
import { Text } from 'react-native';

import { describeError } from '@/api/errors';
import { useAuth } from '@/auth/AuthProvider';
import { Button, Field, Notice, Screen, Title, styles } from '@/components/ui';
import { defaultServerUrl } from '@/config';

export default function SignIn() {
  const { session, state } = useAuth();
  const [server, setServer] = useState(defaultServerUrl());
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    void session.lastServer().then((last) => {
      if (last) {
        setServer(last);
      }
    });
  }, [session]);

  if (state.status === 'signed-in') {
    return <Redirect href="/" />;
  }

  const submit = async () => {
    setBusy(true);
    setError(null);
    try {
      await session.signIn(server, email, password);
      router.replace('/');
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Screen testID="sign-in">
      <Title>StreamUs</Title>
      <Text style={styles.muted}>Sign in to run your shows from this phone.</Text>
      <Notice text={state.status === 'signed-out' ? (state.reason ?? null) : null} kind="info" />
      <Field label="Server" value={server} onChangeText={setServer} keyboardType="url" autoCorrect={false} testID="server" />
      <Field label="Email" value={email} onChangeText={setEmail} keyboardType="email-address" autoComplete="email" testID="email" />
      <Field label="Password" value={password} onChangeText={setPassword} secureTextEntry autoComplete="password" testID="password" onSubmitEditing={submit} />
      <Notice text={error} />
      <Button title="Sign in" onPress={submit} busy={busy} disabled={!email || !password || !server} testID="sign-in-submit" />
    </Screen>
  );
}
