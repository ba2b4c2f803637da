// Loading a route's JSON into a page: {data, error, loading, reload}. A newer request replaces an
// older one still under way (its answer is dropped).
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';

export function useApi(path) {
  const [state, setState] = useState({ data: null, error: null, loading: Boolean(path) });
  const latest = useRef(0);
  const load = useCallback(() => {
    if (!path) return;
    const mine = ++latest.current;
    setState((s) => ({ ...s, loading: true }));
    api(path)
      .then((data) => mine === latest.current && setState({ data, error: null, loading: false }))
      .catch((error) => mine === latest.current && setState({ data: null, error, loading: false }));
  }, [path]);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

// Waits `ms` after the last change of `value` before returning it (the builder's preview).
export function useDebounced(value, ms) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
