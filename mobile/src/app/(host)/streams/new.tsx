import { router } from 'expo-router';

import { unwrap } from '@/api/errors';
import { useApi } from '@/auth/AuthProvider';
import { StreamForm, type StreamInput } from '@/components/StreamForm';
import { useAction } from '@/components/useLoad';
import { Notice, Screen } from '@/components/ui';

export default function NewStream() {
  const api = useApi();
  const { busy, error, run } = useAction();
  const create = async (values: StreamInput) => {
    const stream = await run('create', async () => unwrap(await api.POST('/api/v1/streams/', { body: values })));
    if (stream) {
      router.replace(`/streams/${stream.id}`);
    }
  };
  return (
    <Screen testID="new-stream-screen">
      <StreamForm submitLabel="Create stream" onSubmit={create} busy={busy === 'create'} />
      <Notice text={error} />
    </Screen>
  );
}
