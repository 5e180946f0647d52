import { Link } from 'expo-router';
import { Text } from 'react-native';

import { Screen, Title, styles } from '@/components/ui';

export default function NotFound() {
  return (
    <Screen>
      <Title>Nothing here</Title>
      <Link href="/" style={styles.text}>
        Back to your streams
      </Link>
      <Text style={styles.muted}>Invite links look like streamus://join/… or https://your-server/join/….</Text>
    </Screen>
  );
}
