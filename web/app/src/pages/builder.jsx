// The segment builder: the rule in a code editor (or composed with the visual builder, which
// writes the same text), its size previewed on the live snapshot as you type, the definition's
// objective, channels, anti-segment and schemes, saved as a new version.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, encode } from '../api.js';
import { count, time } from '../format.js';
import { parseRuleError } from '../rule_language.js';
import { RuleEditor } from '../rule_editor.jsx';
import { go, useCan } from '../session.js';
import { useApi, useDebounced } from '../use_api.js';
import { ErrorNote, Loading } from '../widgets.jsx';
import { VisualBuilder } from './visual_builder.jsx';

const OBJECTIVES = ['acquire', 'engage', 'reactivate', 'retain'];
const CHANNELS = ['email', 'sms', 'push', 'web', 'app', 'ads', 'direct_mail', 'call_center'];

function emptyDefinition() {
  return { name: '', description: '', objective: 'engage', owner: '', tags: [], channels: [], rule: '', exclude: '' };
}

// The preview of the rule as typed: its size, or the parser's errors for the editors.
function usePreview(rule, exclude) {
  const settled = { rule: useDebounced(rule, 300), exclude: useDebounced(exclude, 300) };
  const [preview, setPreview] = useState({ state: 'idle' });
  useEffect(() => {
    if (!settled.rule.trim()) {
      setPreview({ state: 'idle' });
      return;
    }
    const abort = new AbortController();
    setPreview((p) => ({ ...p, state: 'busy' }));
    const body = { rule: settled.rule };
    if (settled.exclude.trim()) body.exclude = settled.exclude;
    api('/v1/segments/preview', { method: 'POST', body, signal: abort.signal })
      .then((answer) => setPreview({ state: 'ok', answer }))
      .catch((error) => {
        if (error.name !== 'AbortError') setPreview({ state: 'error', error, at: parseRuleError(error) });
      });
    return () => abort.abort();
  }, [settled.rule, settled.exclude]);
  return preview;
}

export function Builder({ name }) {
  const can = useCan();
  const editing = Boolean(name);
  const schema = useApi('/v1/schema');
  const existing = useApi(editing ? `/v1/segments/${encode(name)}` : null);
  const [definition, setDefinition] = useState(emptyDefinition);
  const [revision, setRevision] = useState(0);  // bumped when the rule text is set from here
  const allSchemes = useApi('/v1/schemes');
  const [inSchemes, setInSchemes] = useState(null);  // names of the schemes it is in (null: as stored)
  const [saveError, setSaveError] = useState(null);
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    if (existing.data) {
      setDefinition({ ...emptyDefinition(), ...existing.data, exclude: existing.data.exclude ?? '' });
      setRevision((r) => r + 1);
    }
  }, [existing.data]);

  const set = (field) => (value) => setDefinition((d) => ({ ...d, [field]: value }));
  const preview = usePreview(definition.rule, definition.exclude);
  const ruleErrors = useMemo(() => (preview.state === 'error' && preview.at?.field === 'rule' ? [preview.at] : []), [preview]);
  const excludeErrors = useMemo(() => (preview.state === 'error' && preview.at?.field === 'exclude' ? [preview.at] : []), [preview]);

  if (!can('segments')) return <ErrorNote error={{ message: 'Your key may not change segments (it lacks the segments scope).' }} />;
  if (schema.error) return <ErrorNote error={schema.error} />;
  if (!schema.data || (editing && !existing.data && !existing.error)) return <Loading what="the builder" />;

  const save = async (event) => {
    event.preventDefault();
    setSaving(true);
    setSaveError(null);
    const body = { ...definition };
    delete body.version;
    delete body.updated_at;
    delete body.size;
    if (!body.exclude.trim()) delete body.exclude;
    try {
      const saved = editing
        ? await api(`/v1/segments/${encode(name)}`, { method: 'PUT', body })
        : await api('/v1/segments', { method: 'POST', body });
      await saveSchemes(saved.name);
      go('segments', saved.name);
    } catch (error) {
      setSaveError(error);
    } finally {
      setSaving(false);
    }
  };
  // Scheme membership: a scheme ticked gets the segment last in its order; one unticked loses it.
  const storedSchemes = (allSchemes.data?.schemes ?? []).filter((scheme) => scheme.members.includes(name ?? definition.name));
  const ticked = inSchemes ?? storedSchemes.map((scheme) => scheme.name);
  const saveSchemes = async (segment) => {
    for (const scheme of allSchemes.data?.schemes ?? []) {
      const member = scheme.members.includes(segment);
      const wanted = ticked.includes(scheme.name);
      if (member === wanted) continue;
      const members = wanted ? [...scheme.members, segment] : scheme.members.filter((m) => m !== segment);
      await api(`/v1/schemes/${encode(scheme.name)}`, {
        method: 'PUT', body: { members, description: scheme.description, otherwise: scheme.otherwise },
      });
    }
  };
  const toggleScheme = (scheme) => setInSchemes(ticked.includes(scheme) ? ticked.filter((s) => s !== scheme) : [...ticked, scheme]);
  const toggleChannel = (channel) => set('channels')(definition.channels.includes(channel)
    ? definition.channels.filter((c) => c !== channel) : [...definition.channels, channel]);

  return (
    <form class="builder" onSubmit={save}>
      <div class="page-head">
        <h1>{editing ? `Edit ${name}` : 'New segment'}</h1>
        {editing && <span class="note">version {existing.data?.version}, {time(existing.data?.updated_at)}</span>}
      </div>
      <div class="builder-grid">
        <div>
          <label for="segment-name">Name</label>
          <input id="segment-name" value={definition.name} disabled={editing} required
            pattern="[A-Za-z0-9_\-]+" title="letters, digits, _ and -"
            onInput={(e) => set('name')(e.currentTarget.value)} />
          <label for="segment-description">Description</label>
          <input id="segment-description" value={definition.description}
            onInput={(e) => set('description')(e.currentTarget.value)} />
          <label for="segment-rule">Rule</label>
          <RuleEditor id="segment-rule" label="Rule" value={definition.rule} revision={revision} onChange={set('rule')}
            schema={schema.data} errors={ruleErrors}
            placeholder='count(purchase, last 30 days) >= 1 and country = "FR"' />
          <VisualBuilder schema={schema.data} onAdd={(condition) => {
            set('rule')(definition.rule.trim() ? `${definition.rule.trim()}\nand ${condition}` : condition);
            setRevision((r) => r + 1);
          }} />
          <label for="segment-exclude">Anti-segment (excluded even when the rule matches)</label>
          <RuleEditor id="segment-exclude" label="Anti-segment" value={definition.exclude} revision={revision}
            onChange={set('exclude')} schema={schema.data} errors={excludeErrors}
            placeholder='in segment "staff"' />
        </div>
        <aside>
          <PreviewPanel preview={preview} />
          <label for="segment-objective">Objective</label>
          <select id="segment-objective" value={definition.objective}
            onChange={(e) => set('objective')(e.currentTarget.value)}>
            {OBJECTIVES.map((o) => <option value={o}>{o}</option>)}
          </select>
          <fieldset>
            <legend>Channels</legend>
            {CHANNELS.map((channel) => (
              <label class="check" key={channel}>
                <input type="checkbox" checked={definition.channels.includes(channel)}
                  onChange={() => toggleChannel(channel)} /> {channel}
              </label>
            ))}
          </fieldset>
          {(allSchemes.data?.schemes ?? []).length > 0 && (
            <fieldset>
              <legend>Schemes (mutually exclusive groups)</legend>
              {allSchemes.data.schemes.map((scheme) => (
                <label class="check" key={scheme.name}>
                  <input type="checkbox" checked={ticked.includes(scheme.name)}
                    onChange={() => toggleScheme(scheme.name)} /> {scheme.name}
                </label>
              ))}
            </fieldset>
          )}
          <label for="segment-owner">Owner</label>
          <input id="segment-owner" value={definition.owner} onInput={(e) => set('owner')(e.currentTarget.value)} />
          <label for="segment-tags">Tags (comma separated)</label>
          <input id="segment-tags" value={definition.tags.join(', ')}
            onInput={(e) => set('tags')(e.currentTarget.value.split(',').map((t) => t.trim()).filter(Boolean))} />
          <ErrorNote error={saveError} />
          <button type="submit" disabled={saving || !definition.name || !definition.rule.trim()}>
            {editing ? 'Save a new version' : 'Save segment'}
          </button>
        </aside>
      </div>
    </form>
  );
}

function PreviewPanel({ preview }) {
  return (
    <div class="preview" aria-live="polite">
      <div class="preview-label">Members now</div>
      {preview.state === 'idle' && <div class="preview-size">–</div>}
      {preview.state === 'busy' && !preview.answer && <div class="preview-size">…</div>}
      {preview.answer && preview.state !== 'error' && (
        <>
          <div class="preview-size" data-testid="preview-size">{count(preview.answer.size)}</div>
          <div class="note">
            of {count(preview.answer.profiles)} profiles; matched {count(preview.answer.matched)}, excluded {count(preview.answer.excluded)}
          </div>
        </>
      )}
      {preview.state === 'error' && (
        <p class="error" role="alert" data-testid="preview-error">
          {preview.at ? `${preview.at.field} ${preview.at.line}:${preview.at.column}: ${preview.at.message}` : preview.error.message}
        </p>
      )}
    </div>
  );
}
