// Every segment with its size, objective and version; "New segment" for keys that may write them.
import { count, time } from '../format.js';
import { useCan } from '../session.js';
import { useApi } from '../use_api.js';
import { ErrorNote, Loading } from '../widgets.jsx';

export function Segments() {
  const can = useCan();
  const { data, error } = useApi('/v1/segments');
  return (
    <>
      <div class="page-head">
        <h1>Segments</h1>
        {can('segments') && <a class="button" href="#/segments/new">New segment</a>}
      </div>
      <ErrorNote error={error} />
      {!data ? !error && <Loading what="segments" /> : data.segments.length === 0 ? (
        <p class="note">No segments yet.</p>
      ) : (
        <table>
          <thead>
            <tr><th>name</th><th>objective</th><th class="num">size</th><th class="num">version</th><th>updated</th><th>tags</th></tr>
          </thead>
          <tbody>
            {data.segments.map((s) => (
              <tr key={s.name}>
                <td><a href={`#/segments/${encodeURIComponent(s.name)}`}>{s.name}</a>
                  {s.description && <div class="note">{s.description}</div>}</td>
                <td>{s.objective}</td>
                <td class="num">{count(s.size)}</td>
                <td class="num">{s.version}</td>
                <td>{time(s.updated_at)}</td>
                <td>{(s.tags ?? []).join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
