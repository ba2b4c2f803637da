// Who is signed in (their key's scopes) and where they are (the address's #/route).
import { createContext } from 'preact';
import { useContext, useEffect, useState } from 'preact/hooks';

export const Session = createContext(null);

// Whether the signed-in key may do what `scope` allows ("admin" may do everything).
export function useCan() {
  const session = useContext(Session);
  return (scope) => session.scopes.includes('admin') || session.scopes.includes(scope);
}

function parse() {
  const path = location.hash.replace(/^#\/?/, '').split('?')[0];
  return path.split('/').filter(Boolean).map(decodeURIComponent);
}

// The route as its parts: "#/segments/vip/edit" -> ["segments", "vip", "edit"].
export function useRoute() {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const changed = () => setRoute(parse());
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export function go(...parts) {
  location.hash = '#/' + parts.map(encodeURIComponent).join('/');
}
