// Overview: how many profiles and events, events per day, ingestion health, the segments with
// the day's entries and exits, and the latest membership changes as they happen.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { stream } from '../api.js';
import { ChartView } from '../chart.jsx';
import { count, signed, time } from '../format.js';
import { useApi } from '../use_api.js';
import { Card, ErrorNote, Loading, Stat } from '../widgets.jsx';

export function Overview() {
  const { data, error } = useApi('/v1/overview');
  const latest = useLatestChanges(data);
  const perDay = useMemo(() => data && {
    labels: data.events_per_day.map((d) => d.day),
    series: [{ label: 'events', data: data.events_per_day.map((d) => d.events) }],
  }, [data]);
  if (error) return <ErrorNote error={error} />;
  if (!data) return <Loading what="the overview" />;
  const ingestion = data.ingestion;
  const biggest = [...data.segments]
    .sort((a, b) => (b.entered_24h + b.exited_24h) - (a.entered_24h + a.exited_24h) || b.size - a.size);
  return (
    <>
      <h1>Overview</h1>
      <div class="stats">
        <Stat label="known profiles" value={count(data.profiles.known)} />
        <Stat label="anonymous visitors" value={count(data.profiles.anonymous)} />
        <Stat label="events" value={count(data.events)} />
        <Stat label="segments" value={count(data.segments.length)} />
      </div>
      <Card title={`Events per day, the ${data.events_per_day.length} days to ${data.events_per_day.at(-1)?.day}`} id="events-per-day">
        <ChartView kind="bar" labels={perDay.labels} series={perDay.series} label="events per day" />
        <p class="note">As of {time(data.as_of)}, from the live snapshot.</p>
      </Card>
      <div class="columns">
        <Card title="Ingestion since the server started" id="ingestion">
          <dl class="facts">
            <dt>accepted</dt><dd>{count(ingestion.accepted)}</dd>
            <dt>duplicates</dt><dd>{count(ingestion.duplicates)}</dd>
            <dt>rejected</dt><dd class={ingestion.rejected > 0 ? 'bad' : ''}>{count(ingestion.rejected)}</dd>
            <dt>started</dt><dd>{time(ingestion.since)}</dd>
          </dl>
        </Card>
        <Card title="Latest changes" id="latest-changes" actions={<a href="#/live">Live</a>}>
          {latest.length === 0 ? <p class="note">No membership changes yet.</p> : (
            <ul class="changes" aria-live="polite">
              {latest.map((c) => (
                <li key={c.sequence}>
                  <span class={c.change}>{c.change}</span>{' '}
                  <a href={`#/segments/${encodeURIComponent(c.segment)}`}>{c.segment}</a>{' '}
                  {c.profile ? <a href={`#/customers/${encodeURIComponent(c.profile)}`}>{c.profile}</a> : <em>deleted</em>}
                  <span class="note"> {time(c.at)}</span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
      <Card title="Segments, most changed in the last 24 hours first" id="segment-changes">
        <table>
          <thead><tr><th>segment</th><th class="num">size</th><th class="num">entered</th><th class="num">exited</th><th class="num">net</th></tr></thead>
          <tbody>
            {biggest.map((s) => (
              <tr key={s.name}>
                <td><a href={`#/segments/${encodeURIComponent(s.name)}`}>{s.name}</a></td>
                <td class="num">{count(s.size)}</td>
                <td class="num">{count(s.entered_24h)}</td>
                <td class="num">{count(s.exited_24h)}</td>
                <td class="num">{signed(s.entered_24h - s.exited_24h)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </>
  );
}

// The overview's latest changes, kept live: the stream from the feed's latest sequence prepends
// each new one (the ten newest shown).
function useLatestChanges(data) {
  const [changes, setChanges] = useState([]);
  useEffect(() => {
    if (!data) return undefined;
    setChanges(data.latest_changes);
    const abort = new AbortController();
    stream(`/v1/changes/stream?after=${data.latest_sequence}`, (name, text) => {
      if (name === 'membership') setChanges((list) => [JSON.parse(text), ...list].slice(0, 10));
    }, { signal: abort.signal }).catch(() => {});  // the list stays as loaded
    return () => abort.abort();
  }, [data]);
  return changes;
}
