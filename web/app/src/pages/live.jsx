// Live: segment entries and exits as they are fed (GET /v1/changes/stream), newest first,
// optionally for one segment; the counts since the page opened.
import { useEffect, useState } from 'preact/hooks';
import { api, stream } from '../api.js';
import { count, time } from '../format.js';
import { Card, ErrorNote, Stat } from '../widgets.jsx';

const KEPT = 200;  // changes shown

export function Live() {
  const [changes, setChanges] = useState([]);
  const [totals, setTotals] = useState({ entered: 0, exited: 0 });
  const [filter, setFilter] = useState('');
  const [state, setState] = useState('connecting');
  const [error, setError] = useState(null);

  useEffect(() => {
    const abort = new AbortController();
    // From the latest changes already fed: the stream starts after the last one.
    fetchLatest(abort.signal).then((after) => {
      setState('live');
      return stream(`/v1/changes/stream?after=${after}`, (name, data) => {
        if (name !== 'membership') return;
        const change = JSON.parse(data);
        setChanges((list) => [change, ...list].slice(0, KEPT));
        setTotals((t) => ({ ...t, [change.change]: t[change.change] + 1 }));
      }, { signal: abort.signal });
    }).then(() => setState('ended')).catch((failure) => {
      if (failure.name !== 'AbortError') {
        setError(failure);
        setState('ended');
      }
    });
    return () => abort.abort();
  }, []);

  const shown = filter ? changes.filter((c) => c.segment.includes(filter)) : changes;
  return (
    <>
      <div class="page-head">
        <h1>Live</h1>
        <span class={`status ${state}`} role="status">{state === 'live' ? '● live' : state}</span>
      </div>
      <div class="stats">
        <Stat label="entered since opened" value={count(totals.entered)} />
        <Stat label="exited since opened" value={count(totals.exited)} />
      </div>
      <ErrorNote error={error} />
      <Card title="Membership changes, newest first" id="changes" actions={
        <label>Segment contains <input value={filter} onInput={(e) => setFilter(e.currentTarget.value)} /></label>}>
        {shown.length === 0 ? <p class="note">Waiting for changes…</p> : (
          <table>
            <thead><tr><th>when</th><th>change</th><th>segment</th><th>profile</th></tr></thead>
            <tbody>
              {shown.map((c) => (
                <tr key={c.sequence}>
                  <td>{time(c.at)}</td>
                  <td class={c.change}>{c.change}</td>
                  <td><a href={`#/segments/${encodeURIComponent(c.segment)}`}>{c.segment}</a></td>
                  <td>{c.profile ? <a href={`#/customers/${encodeURIComponent(c.profile)}`}>{c.profile}</a> : <em>deleted</em>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}

// The feed's latest sequence (the overview reports it), so the stream sends only new changes.
async function fetchLatest(signal) {
  const overview = await api('/v1/overview', { signal });
  return overview.latest_sequence ?? 0;
}
