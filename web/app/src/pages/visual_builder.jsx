// The visual builder: the common conditions as forms (a trait by its schema type, a count of
// events in a window, a distance from a place) that write rule text, added to the rule with "and".
import { useState } from 'preact/hooks';

const quote = (text) => `"${String(text).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const isNumber = (type) => type === 'int' || type === 'double' || type === 'decimal';

// The condition's text for a trait of `type`.
export function traitCondition(trait, type, operator, value) {
  if (operator === 'exists' || operator === 'missing') return `${trait} ${operator}`;
  if (type === 'bool') return `${trait} = ${value === 'true' ? 'true' : 'false'}`;
  if (operator === 'in') {
    const values = value.split(',').map((v) => v.trim()).filter(Boolean);
    return `${trait} in [${values.map((v) => (isNumber(type) ? v : quote(v))).join(', ')}]`;
  }
  if (isNumber(type)) return `${trait} ${operator} ${Number(value)}`;
  return `${trait} ${operator} ${quote(value)}`;
}

export function countCondition(type, operator, times, days, category) {
  const where = category ? ` where category = ${quote(category)}` : '';
  const window = days ? `, last ${Number(days)} days` : '';
  return `count(${type}${where}${window}) ${operator} ${Number(times)}`;
}

export function placeCondition(km, latitude, longitude) {
  return `location within ${Number(km)} km of (${Number(latitude)}, ${Number(longitude)})`;
}

function operatorsFor(type) {
  if (type === 'bool') return ['='];
  if (type === 'list') return ['contains', 'exists', 'missing'];
  if (isNumber(type) || type === 'timestamp') return ['=', '!=', '>', '>=', '<', '<=', 'in', 'exists', 'missing'];
  return ['=', '!=', 'in', 'starts_with', 'contains', 'exists', 'missing'];
}

export function VisualBuilder({ schema, onAdd }) {
  const traits = schema.traits ?? [];
  const [kind, setKind] = useState('trait');
  const [trait, setTrait] = useState(traits[0]?.name ?? '');
  const traitType = traits.find((t) => t.name === trait)?.type ?? 'string';
  const [operator, setOperator] = useState('=');
  const [value, setValue] = useState('');
  const [eventType, setEventType] = useState(schema.event_types?.[0] ?? 'purchase');
  const [countOperator, setCountOperator] = useState('>=');
  const [times, setTimes] = useState('1');
  const [days, setDays] = useState('30');
  const [category, setCategory] = useState('');
  const [km, setKm] = useState('10');
  const [latitude, setLatitude] = useState('');
  const [longitude, setLongitude] = useState('');

  const operators = operatorsFor(traitType);
  const chosenOperator = operators.includes(operator) ? operator : operators[0];
  const condition = kind === 'trait'
    ? trait && traitCondition(trait, traitType, chosenOperator, value)
    : kind === 'count'
      ? countCondition(eventType, countOperator, times, days, category)
      : latitude && longitude && placeCondition(km, latitude, longitude);

  return (
    <details class="visual-builder">
      <summary>Add a condition without writing it</summary>
      <div class="row">
        <label>Kind
          <select value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
            <option value="trait">a trait</option>
            <option value="count">a count of events</option>
            <option value="place">near a place</option>
          </select>
        </label>
        {kind === 'trait' && (
          <>
            <label>Trait
              <select value={trait} onChange={(e) => setTrait(e.currentTarget.value)}>
                {traits.map((t) => <option value={t.name}>{t.name} ({t.type})</option>)}
              </select>
            </label>
            <label>Test
              <select value={chosenOperator} onChange={(e) => setOperator(e.currentTarget.value)}>
                {operators.map((o) => <option value={o}>{o}</option>)}
              </select>
            </label>
            {chosenOperator !== 'exists' && chosenOperator !== 'missing' && (traitType === 'bool' ? (
              <label>Value
                <select value={value} onChange={(e) => setValue(e.currentTarget.value)}>
                  <option value="true">true</option><option value="false">false</option>
                </select>
              </label>
            ) : (
              <label>Value{chosenOperator === 'in' ? ' (comma separated)' : ''}
                <input value={value} type={isNumber(traitType) && chosenOperator !== 'in' ? 'number' : 'text'}
                  onInput={(e) => setValue(e.currentTarget.value)} />
              </label>
            ))}
          </>
        )}
        {kind === 'count' && (
          <>
            <label>Event type
              <select value={eventType} onChange={(e) => setEventType(e.currentTarget.value)}>
                {(schema.event_types ?? []).map((t) => <option value={t}>{t}</option>)}
              </select>
            </label>
            <label>Category (optional)
              <input value={category} onInput={(e) => setCategory(e.currentTarget.value)} />
            </label>
            <label>Count
              <select value={countOperator} onChange={(e) => setCountOperator(e.currentTarget.value)}>
                {['>=', '>', '=', '<', '<='].map((o) => <option value={o}>{o}</option>)}
              </select>
            </label>
            <label>Times<input type="number" min="0" value={times} onInput={(e) => setTimes(e.currentTarget.value)} /></label>
            <label>In the last … days (empty: ever)
              <input type="number" min="1" value={days} onInput={(e) => setDays(e.currentTarget.value)} />
            </label>
          </>
        )}
        {kind === 'place' && (
          <>
            <label>Within km<input type="number" min="0" value={km} onInput={(e) => setKm(e.currentTarget.value)} /></label>
            <label>Latitude<input type="number" step="any" value={latitude} onInput={(e) => setLatitude(e.currentTarget.value)} /></label>
            <label>Longitude<input type="number" step="any" value={longitude} onInput={(e) => setLongitude(e.currentTarget.value)} /></label>
          </>
        )}
      </div>
      <div class="row">
        <code class="condition">{condition || '…'}</code>
        <button type="button" disabled={!condition} onClick={() => onAdd(condition)}>Add to the rule</button>
      </div>
    </details>
  );
}
