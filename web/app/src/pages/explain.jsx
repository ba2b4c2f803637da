// Why a profile is (or is not) in a segment: every condition of the rule with its outcome and
// the values seen (GET /v1/segments/{name}/explain/{profile}).
import { encode } from '../api.js';
import { useApi } from '../use_api.js';
import { ErrorNote, Loading } from '../widgets.jsx';

function Condition({ node }) {
  return (
    <li class={node.matched ? 'matched' : 'unmatched'}>
      <span class="mark" aria-label={node.matched ? 'matched' : 'not matched'}>{node.matched ? '✓' : '✗'}</span>{' '}
      <code>{node.condition}</code>
      {node.seen != null && node.seen !== '' && <span class="note"> seen: {String(node.seen)}</span>}
      {node.children?.length > 0 && <ul>{node.children.map((child) => <Condition node={child} />)}</ul>}
    </li>
  );
}

export function Explain({ segment, profile }) {
  const why = useApi(`/v1/segments/${encode(segment)}/explain/${encode(profile)}`);
  if (why.error) return <ErrorNote error={why.error} />;
  if (!why.data) return <Loading what="the explanation" />;
  return (
    <div class="explain">
      <p><strong>{why.data.member ? 'Member' : 'Not a member'}</strong> of {segment}.</p>
      <ul class="tree"><Condition node={why.data.rule} /></ul>
      {why.data.exclude && (
        <>
          <p>Anti-segment (a match removes them):</p>
          <ul class="tree"><Condition node={why.data.exclude} /></ul>
        </>
      )}
    </div>
  );
}
