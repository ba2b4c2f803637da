// A page loaded on first use (its code in its own chunk: the builder's editor is most of the
// bundle, and other pages do not need it).
import { useEffect, useState } from 'preact/hooks';
import { ErrorNote, Loading } from './widgets.jsx';

export function lazy(load, exportName) {
  let loaded = null;
  return function LazyPage(props) {
    const [Page, setPage] = useState(() => loaded);
    const [error, setError] = useState(null);
    useEffect(() => {
      if (Page) return;
      load().then((module) => {
        loaded = module[exportName];
        setPage(() => loaded);
      }).catch(setError);
    }, []);
    if (error) return <ErrorNote error={error} />;
    return Page ? <Page {...props} /> : <Loading />;
  };
}
