// One segment: its definition, size over time, entries and exits per day, overlap with the other
// segments, its members (paged, searchable by id), why one member is in, and the members as CSV.
import { useMemo, useState } from 'preact/hooks';
import { api, apiText, encode } from '../api.js';
import { ChartView } from '../chart.jsx';
import { count, day, time } from '../format.js';
import { go, useCan } from '../session.js';
import { useApi } from '../use_api.js';
import { Card, ErrorNote, Loading, Stat } from '../widgets.jsx';
import { Explain } from './explain.jsx';
import { Overlap } from './overlap.jsx';

export function SegmentPage({ name }) {
  const can = useCan();
  const path = `/v1/segments/${encode(name)}`;
  const definition = useApi(path);
  const history = useApi(`${path}/history`);
  const activity = useApi(`${path}/activity?days=30`);
  const [deleteError, setDeleteError] = useState(null);

  const sizes = useMemo(() => history.data && {
    labels: history.data.history.map((h) => time(h.evaluated_at)),
    series: [{ label: 'members', data: history.data.history.map((h) => h.size) }],
  }, [history.data]);
  const flows = useMemo(() => activity.data && {
    labels: activity.data.days.map((d) => d.day),
    series: [
      { label: 'entered', data: activity.data.days.map((d) => d.entered), colour: 'var(--good)' },
      { label: 'exited', data: activity.data.days.map((d) => -d.exited), colour: 'var(--bad)' },
    ],
  }, [activity.data]);

  if (definition.error) return <ErrorNote error={definition.error} />;
  if (!definition.data) return <Loading what={name} />;
  const d = definition.data;

  const remove = async () => {
    if (!confirm(`Delete the segment ${name}? Its members and history go with it.`)) return;
    try {
      await api(path, { method: 'DELETE' });
      go('segments');
    } catch (error) {
      setDeleteError(error);
    }
  };
  const exportCsv = async () => {
    const text = await apiText(`${path}/members.csv`);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
    link.download = `${name}.csv`;
    link.click();
    URL.revokeObjectURL(link.href);
  };

  return (
    <>
      <div class="page-head">
        <h1>{name}</h1>
        <div class="actions">
          <button type="button" class="quiet" onClick={exportCsv}>Export members (CSV)</button>
          {can('segments') && <a class="button" href={`#/segments/${encode(name)}/edit`}>Edit</a>}
          {can('segments') && <button type="button" class="danger" onClick={remove}>Delete</button>}
        </div>
      </div>
      <ErrorNote error={deleteError} />
      {d.description && <p>{d.description}</p>}
      <div class="stats">
        <Stat label="members" value={count(d.size ?? 0)} />
        <Stat label="objective" value={d.objective} />
        <Stat label="version" value={d.version} note={time(d.updated_at)} />
        <Stat label="channels" value={(d.channels ?? []).join(', ') || '–'} />
      </div>
      <Card title="Rule" id="rule">
        <pre class="rule">{d.rule}</pre>
        {d.exclude && <><h3>Excluded</h3><pre class="rule">{d.exclude}</pre></>}
      </Card>
      <div class="columns">
        <Card title="Size at each evaluation" id="size-history">
          {sizes ? <ChartView labels={sizes.labels} series={sizes.series} label="segment size over time" />
            : <ErrorNote error={history.error} />}
        </Card>
        <Card title="Entries and exits per day" id="flows">
          {flows ? <ChartView kind="bar" stacked labels={flows.labels} series={flows.series} label="entries and exits per day" />
            : <ErrorNote error={activity.error} />}
        </Card>
      </div>
      <Overlap name={name} />
      <Members path={path} name={name} />
      <Versions path={path} />
    </>
  );
}

function Members({ path, name }) {
  const [cursor, setCursor] = useState('');
  const [trail, setTrail] = useState([]);
  const [search, setSearch] = useState('');
  const [chosen, setChosen] = useState(null);
  const page = useApi(`${path}/members?limit=50${cursor ? `&cursor=${encode(cursor)}` : ''}`);
  const lookup = useApi(chosen ? `${path}/members/${encode(chosen)}` : null);
  const find = (event) => {
    event.preventDefault();
    setChosen(search.trim() || null);
  };
  return (
    <Card title="Members" id="members">
      <form class="row" onSubmit={find} role="search">
        <label for="member-search">Find a profile</label>
        <input id="member-search" value={search} placeholder="user id" onInput={(e) => setSearch(e.currentTarget.value)} />
        <button type="submit">Find</button>
      </form>
      {chosen && lookup.data && (
        <div class="found">
          <p><a href={`#/customers/${encode(chosen)}`}>{chosen}</a> {lookup.data.member ? 'is a member' : 'is not a member'}.</p>
          <Explain segment={name} profile={chosen} />
        </div>
      )}
      {chosen && <ErrorNote error={lookup.error} />}
      <ErrorNote error={page.error} />
      {page.data && (
        <>
          <ul class="members">
            {page.data.members.map((id) => (
              <li key={id}>
                <a href={`#/customers/${encode(id)}`}>{id}</a>{' '}
                <button type="button" class="link" onClick={() => { setSearch(id); setChosen(id); }}>why</button>
              </li>
            ))}
          </ul>
          <div class="row">
            <button type="button" disabled={trail.length === 0}
              onClick={() => { setCursor(trail[trail.length - 1]); setTrail(trail.slice(0, -1)); }}>Previous</button>
            <button type="button" disabled={!page.data.next_cursor}
              onClick={() => { setTrail([...trail, cursor]); setCursor(page.data.next_cursor); }}>Next</button>
            <span class="note">{count(page.data.size)} members</span>
          </div>
        </>
      )}
    </Card>
  );
}

function Versions({ path }) {
  const versions = useApi(`${path}/versions`);
  const [left, setLeft] = useState(null);
  const [right, setRight] = useState(null);
  if (!versions.data) return <ErrorNote error={versions.error} />;
  const list = versions.data.versions;
  const a = list.find((v) => v.version === left) ?? list[1] ?? list[0];
  const b = list.find((v) => v.version === right) ?? list[0];
  return (
    <Card title="Versions" id="versions">
      <table>
        <thead><tr><th>version</th><th>saved</th><th>rule</th><th>compare</th></tr></thead>
        <tbody>
          {list.map((v) => (
            <tr key={v.version}>
              <td class="num">{v.version}</td>
              <td>{day(v.updated_at)}</td>
              <td><code>{v.rule}</code></td>
              <td>
                <label class="check"><input type="radio" name="left" checked={a === v} onChange={() => setLeft(v.version)} /> from</label>
                <label class="check"><input type="radio" name="right" checked={b === v} onChange={() => setRight(v.version)} /> to</label>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {a && b && a !== b && <Diff before={a} after={b} />}
    </Card>
  );
}

// A line diff of two versions' definitions (longest common subsequence of lines).
export function lineDiff(before, after) {
  const x = before.split('\n');
  const y = after.split('\n');
  const lcs = Array.from({ length: x.length + 1 }, () => new Array(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const lines = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      lines.push([' ', x[i++]]);
      j++;
    } else if (j < y.length && (i === x.length || lcs[i][j + 1] >= lcs[i + 1][j])) {
      lines.push(['+', y[j++]]);
    } else {
      lines.push(['-', x[i++]]);
    }
  }
  return lines;
}

function describe(v) {
  return [`rule: ${v.rule}`, `exclude: ${v.exclude ?? ''}`, `objective: ${v.objective}`,
    `channels: ${(v.channels ?? []).join(', ')}`, `description: ${v.description ?? ''}`].join('\n');
}

function Diff({ before, after }) {
  const lines = lineDiff(describe(before), describe(after));
  return (
    <pre class="diff" aria-label={`changes from version ${before.version} to ${after.version}`}>
      {lines.map(([mark, text]) => (
        <div class={mark === '+' ? 'added' : mark === '-' ? 'removed' : ''}>{mark} {text}</div>
      ))}
    </pre>
  );
}
