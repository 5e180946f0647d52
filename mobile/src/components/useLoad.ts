import { useCallback, useEffect, useRef, useState } from 'react';

import { describeError } from '@/api/errors';

/** Load something when `deps` change (and on reload()); the error is a sentence. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const loader = useRef(load);
  useEffect(() => {
    loader.current = load;
  });

  const settle = useCallback((promise: Promise<T>, isCurrent: () => boolean) => {
    promise.then(
      (value) => {
        if (isCurrent()) {
          setData(value);
          setError(null);
          setLoading(false);
        }
      },
      (e: unknown) => {
        if (isCurrent()) {
          setError(describeError(e));
          setLoading(false);
        }
      },
    );
  }, []);

  const reload = useCallback(async () => {
    setLoading(true);
    await new Promise<void>((resolve) => settle(loader.current().finally(resolve), () => true));
  }, [settle]);

  useEffect(() => {
    let current = true;
    settle(load(), () => current);
    return () => {
      current = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);
  return { data, setData, error, setError, loading, reload };
}

/** Run an action, keeping its error as a sentence; returns the result or undefined on failure. */
export function useAction() {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(async <T,>(name: string, action: () => Promise<T>): Promise<T | undefined> => {
    setBusy(name);
    setError(null);
    try {
      return await action();
    } catch (e) {
      setError(describeError(e));
      return undefined;
    } finally {
      setBusy(null);
    }
  }, []);
  return { busy, error, setError, run };
}
