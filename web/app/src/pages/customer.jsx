// Customer 360: one profile. Its traits by kind (declared by the person, inferred by tailor or
// observed), behaviour per event type, the events timeline, the ids merged into it, its segments
// with why, its recommendations with their reasons; export (right of access) and delete (right to
// be forgotten, confirmed by typing the id).
import { useState } from 'preact/hooks';
import { api, encode } from '../api.js';
import { count, time } from '../format.js';
import { go, useCan } from '../session.js';
import { useApi } from '../use_api.js';
import { Card, ErrorNote, Loading, Stat } from '../widgets.jsx';
import { Explain } from './explain.jsx';

const KINDS = ['demographic', 'geographic', 'psychographic', 'behavioural', 'technographic', 'preference', 'other'];

export function Customer({ id }) {
  const [search, setSearch] = useState(id ?? '');
  const find = (event) => {
    event.preventDefault();
    if (search.trim()) go('customers', search.trim());
  };
  return (
    <>
      <div class="page-head">
        <h1>{id ? `Customer ${id}` : 'Customers'}</h1>
        <form class="row" onSubmit={find} role="search">
          <label for="customer-search">Profile id</label>
          <input id="customer-search" value={search} placeholder="user id, anonymous id or alias"
            onInput={(e) => setSearch(e.currentTarget.value)} />
          <button type="submit">Open</button>
        </form>
      </div>
      {id ? <Profile key={id} id={id} /> : <p class="note">Open a profile by any of its ids, or from a segment's members.</p>}
    </>
  );
}

function Profile({ id }) {
  const can = useCan();
  const profile = useApi(`/v1/profiles/${encode(id)}?events=50`);
  const schema = useApi('/v1/schema');
  const recommendations = useApi(`/v1/profiles/${encode(id)}/recommendations?count=6`);
  const [why, setWhy] = useState(null);
  const [deleting, setDeleting] = useState(false);
  const [confirmText, setConfirmText] = useState('');
  const [error, setError] = useState(null);

  if (profile.error) return <ErrorNote error={profile.error} />;
  if (!profile.data || !schema.data) return <Loading what={id} />;
  const p = profile.data;
  const kindOf = new Map((schema.data.traits ?? []).map((t) => [t.name, t.category]));
  const declared = new Set(p.declared_traits ?? []);
  const inferred = new Set(p.inferred_traits ?? []);
  const byKind = new Map(KINDS.map((k) => [k, []]));
  for (const [name, value] of Object.entries(p.traits)) {
    byKind.get(kindOf.get(name) ?? 'other')?.push([name, value]);
  }

  const exportProfile = async () => {
    const data = await api(`/v1/profiles/${encode(id)}/export`);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
    link.download = `${id}.json`;
    link.click();
    URL.revokeObjectURL(link.href);
  };
  const remove = async () => {
    setError(null);
    try {
      await api(`/v1/profiles/${encode(id)}`, { method: 'DELETE' });
      go('customers');
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <>
      <div class="stats">
        <Stat label={p.anonymous ? 'anonymous visitor' : 'known profile'} value={p.id} note={`since ${time(p.created_at)}`} />
        <Stat label="events" value={count(p.event_count)} note={p.behaviour?.last_seen && `last seen ${time(p.behaviour.last_seen)}`} />
        <Stat label="segments" value={count(p.segments?.length ?? 0)} />
      </div>
      <div class="row actions">
        <button type="button" class="quiet" onClick={exportProfile}>Export everything held (JSON)</button>
        {can('admin') && !deleting && <button type="button" class="danger" onClick={() => setDeleting(true)}>Delete this profile</button>}
      </div>
      {deleting && (
        <div class="confirm" role="alertdialog" aria-labelledby="confirm-delete">
          <p id="confirm-delete">Deleting removes the profile, all its events and every id that points to it. It cannot be undone. Type <code>{p.id}</code> to confirm.</p>
          <input aria-label="the profile id, to confirm" value={confirmText} onInput={(e) => setConfirmText(e.currentTarget.value)} />
          <button type="button" class="danger" disabled={confirmText !== p.id} onClick={remove}>Delete for good</button>
          <button type="button" class="quiet" onClick={() => setDeleting(false)}>Cancel</button>
        </div>
      )}
      <ErrorNote error={error} />
      <div class="columns">
        <Card title="Traits" id="traits">
          {KINDS.filter((k) => byKind.get(k).length > 0).map((kind) => (
            <div key={kind}>
              <h3>{kind}</h3>
              <dl class="facts">
                {byKind.get(kind).map(([name, value]) => (
                  <>
                    <dt>{name}{declared.has(name) && <span class="badge" title="given by the person">declared</span>}
                      {inferred.has(name) && <span class="badge" title="inferred by tailor">inferred</span>}</dt>
                    <dd>{Array.isArray(value) ? value.join(', ') : String(value)}</dd>
                  </>
                ))}
              </dl>
            </div>
          ))}
          {(p.aliases?.length ?? 0) > 0 && (<><h3>Ids merged into this profile</h3><p>{p.aliases.join(', ')}</p></>)}
        </Card>
        <Card title="Segments" id="segments">
          {(p.segments ?? []).length === 0 ? <p class="note">In no segment.</p> : (
            <ul class="segments">
              {p.segments.map((s) => (
                <li key={s}><a href={`#/segments/${encode(s)}`}>{s}</a>{' '}
                  <button type="button" class="link" onClick={() => setWhy(why === s ? null : s)}>why</button>
                  {why === s && <Explain segment={s} profile={p.id} />}
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
      <div class="columns">
        <Card title="Behaviour" id="behaviour">
          <table>
            <thead><tr><th>event type</th><th class="num">count</th><th class="num">value</th><th>last</th></tr></thead>
            <tbody>
              {Object.entries(p.behaviour?.by_type ?? {}).map(([type, b]) => (
                <tr key={type}><td>{type}</td><td class="num">{count(b.count)}</td><td class="num">{b.value_sum || ''}</td><td>{time(b.last)}</td></tr>
              ))}
            </tbody>
          </table>
        </Card>
        <Card title="Recommendations" id="recommendations">
          {recommendations.error ? <ErrorNote error={recommendations.error} /> : !recommendations.data ? <Loading /> : (
            <ol class="recommendations">
              {recommendations.data.items.map((item) => (
                <li key={item.id}>
                  <strong>{item.name || item.id}</strong> <span class="note">{item.category}</span>
                  <ul>{item.reasons.map((r) => <li><span class="badge">{r.generator}</span> {r.detail}</li>)}</ul>
                </li>
              ))}
            </ol>
          )}
        </Card>
      </div>
      <Card title="Events, newest first" id="events">
        <ol class="timeline">
          {(p.events ?? []).map((e, i) => (
            <li key={e.id ?? i}>
              <time>{time(e.time)}</time> <strong>{e.type}</strong>
              {e.item_id && <> · {e.item_id}</>}{e.category && <> · {e.category}</>}
              {e.price != null && <> · {e.price}</>}
              {e.context?.channel && <span class="note"> via {e.context.channel}</span>}
            </li>
          ))}
        </ol>
        {p.event_count > (p.events ?? []).length && <p class="note">The latest {(p.events ?? []).length} of {count(p.event_count)}; the export holds them all.</p>}
      </Card>
    </>
  );
}
