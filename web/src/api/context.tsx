import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState } from "react";
import { ApiClient } from "./client";

interface ApiContextValue {
  client: ApiClient;
  signOut: () => void;
}

const ApiContext = createContext<ApiContextValue | null>(null);

export function ApiProvider({ client, signOut, children }: ApiContextValue & { children: React.ReactNode }) {
  const value = useMemo(() => ({ client, signOut }), [client, signOut]);
  return <ApiContext.Provider value={value}>{children}</ApiContext.Provider>;
}

export function useApi(): ApiContextValue {
  const value = useContext(ApiContext);
  if (!value) throw new Error("useApi outside ApiProvider");
  return value;
}

export interface Loadable<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (value: T) => void;
}

/** Run `load(client)` on mount and whenever `deps` change; keeps the last data while reloading. */
export function useLoad<T>(load: (client: ApiClient) => Promise<T>, deps: unknown[] = []): Loadable<T> {
  const { client } = useApi();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  useEffect(() => {
    let live = true;
    setLoading(true);
    loader.current(client).then(
      (value) => {
        if (!live) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err) => {
        if (!live) return;
        setError(err);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, tick, ...deps]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}
