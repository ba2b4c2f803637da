// How much a segment shares with the others: a heat map of pairwise overlaps (the share of the
// row's members also in the column's segment), from POST /v1/segments/overlap.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { count, percent } from '../format.js';
import { useApi } from '../use_api.js';
import { Card, ErrorNote } from '../widgets.jsx';

const MOST = 12;  // segments shown: this one and the largest others

export function Overlap({ name }) {
  const all = useApi('/v1/segments');
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    if (!all.data) return;
    const others = all.data.segments.filter((s) => s.name !== name)
      .sort((a, b) => (b.size ?? 0) - (a.size ?? 0)).slice(0, MOST - 1).map((s) => s.name);
    api('/v1/segments/overlap', { method: 'POST', body: { segments: [name, ...others] } })
      .then(setAnswer).catch(setError);
  }, [all.data, name]);
  return (
    <Card title="Overlap with other segments" id="overlap">
      <ErrorNote error={error ?? all.error} />
      {answer && (
        <div class="scroll">
          <table class="heat" aria-label="share of the row's members in the column's segment">
            <thead>
              <tr><th />{answer.segments.map((s, j) => <th key={s} scope="col" title={s}>{j + 1}</th>)}</tr>
            </thead>
            <tbody>
              {answer.segments.map((row, i) => (
                <tr key={row}>
                  <th scope="row"><a href={`#/segments/${encodeURIComponent(row)}`}>{i + 1}. {row}</a></th>
                  {answer.overlap[i].map((both, j) => {
                    const share = answer.sizes[i] > 0 ? both / answer.sizes[i] : 0;
                    return (
                      <td key={j} style={{ '--share': share }} title={`${count(both)} of ${count(answer.sizes[i])} (${percent(share)}) also in ${answer.segments[j]}`}>
                        {i === j ? '' : percent(share)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}
