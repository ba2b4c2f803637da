// Schemes: mutually exclusive groups of segments in priority order (each profile goes to the
// first segment it is in). Drag a segment (or use its arrows) to change the order, then save;
// each scheme shows how many duplicates its order avoids.
import { useEffect, useState } from 'preact/hooks';
import { api, encode } from '../api.js';
import { count } from '../format.js';
import { useCan } from '../session.js';
import { useApi } from '../use_api.js';
import { Card, ErrorNote, Loading } from '../widgets.jsx';

export function Schemes() {
  const list = useApi('/v1/schemes');
  if (list.error) return <ErrorNote error={list.error} />;
  if (!list.data) return <Loading what="schemes" />;
  return (
    <>
      <h1>Schemes</h1>
      {list.data.schemes.length === 0 && <p class="note">No schemes yet.</p>}
      {list.data.schemes.map((scheme) => <Scheme key={scheme.name} scheme={scheme} onSaved={list.reload} />)}
    </>
  );
}

function move(list, from, to) {
  const next = [...list];
  const [taken] = next.splice(from, 1);
  next.splice(to, 0, taken);
  return next;
}

function Scheme({ scheme, onSaved }) {
  const can = useCan();
  const assignment = useApi(`/v1/schemes/${encode(scheme.name)}`);
  const [order, setOrder] = useState(scheme.members);
  const [dragged, setDragged] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => setOrder(scheme.members), [scheme]);
  const changed = order.join('\n') !== scheme.members.join('\n');
  const counts = new Map((assignment.data?.members ?? []).map((m) => [m.segment, m]));

  const save = async () => {
    setError(null);
    try {
      await api(`/v1/schemes/${encode(scheme.name)}`, {
        method: 'PUT',
        body: { members: order, description: scheme.description, otherwise: scheme.otherwise },
      });
      onSaved();
      assignment.reload();
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <Card title={scheme.name} id={`scheme-${scheme.name}`} actions={assignment.data && (
      <span class="note">{count(assignment.data.assigned)} assigned, {count(assignment.data.duplicates_avoided)} duplicates avoided
        {assignment.data.everyone_else != null && `, ${count(assignment.data.everyone_else)} everyone else`}</span>
    )}>
      {scheme.description && <p>{scheme.description}</p>}
      <ol class="priority">
        {order.map((segment, i) => (
          <li key={segment} draggable={can('segments')}
            class={dragged === i ? 'dragging' : ''}
            onDragStart={() => setDragged(i)}
            onDragOver={(e) => { e.preventDefault(); if (dragged !== null && dragged !== i) { setOrder(move(order, dragged, i)); setDragged(i); } }}
            onDragEnd={() => setDragged(null)}>
            <span class="grip" aria-hidden="true">⋮⋮</span>
            <span class="position">{i + 1}.</span>
            <a href={`#/segments/${encode(segment)}`}>{segment}</a>
            <span class="note">{counts.has(segment) ? ` ${count(counts.get(segment).count)} assigned of ${count(counts.get(segment).unprioritized)}` : ''}</span>
            {can('segments') && (
              <span class="arrows">
                <button type="button" class="quiet" disabled={i === 0} aria-label={`Move ${segment} up`}
                  onClick={() => setOrder(move(order, i, i - 1))}>↑</button>
                <button type="button" class="quiet" disabled={i === order.length - 1} aria-label={`Move ${segment} down`}
                  onClick={() => setOrder(move(order, i, i + 1))}>↓</button>
              </span>
            )}
          </li>
        ))}
      </ol>
      <ErrorNote error={error} />
      {can('segments') && changed && (
        <div class="row">
          <button type="button" onClick={save}>Save the order</button>
          <button type="button" class="quiet" onClick={() => setOrder(scheme.members)}>Undo</button>
        </div>
      )}
    </Card>
  );
}
