// Settings: the API keys, managed while the server runs (scope admin): create one with its scopes
// (a public key for a website, with its allowed origins), see it once, revoke one.
import { useContext, useState } from 'preact/hooks';
import { api, encode } from '../api.js';
import { time } from '../format.js';
import { Session, useCan } from '../session.js';
import { useApi } from '../use_api.js';
import { Card, ErrorNote, Loading } from '../widgets.jsx';

const SCOPES = ['read', 'write', 'segments', 'decide', 'admin'];

export function Settings() {
  const can = useCan();
  if (!can('admin')) return (
    <>
      <h1>Settings</h1>
      <p class="note">Only a key with the admin scope manages keys.</p>
    </>
  );
  return <Keys />;
}

function Keys() {
  const session = useContext(Session);
  const keys = useApi('/v1/keys');
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState(['read']);
  const [isPublic, setPublic] = useState(false);
  const [origins, setOrigins] = useState('');
  const [created, setCreated] = useState(null);
  const [error, setError] = useState(null);

  const create = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      const body = { name, scopes: isPublic ? ['write'] : scopes, public: isPublic };
      if (isPublic) body.origins = origins.split(',').map((o) => o.trim()).filter(Boolean);
      setCreated(await api('/v1/keys', { method: 'POST', body }));
      setName('');
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const revoke = async (id) => {
    if (!confirm(`Revoke key ${id}? Clients using it are refused from now on.`)) return;
    setError(null);
    try {
      await api(`/v1/keys/${encode(id)}`, { method: 'DELETE' });
      keys.reload();
    } catch (failure) {
      setError(failure);
    }
  };
  const toggle = (scope) => setScopes(scopes.includes(scope) ? scopes.filter((s) => s !== scope) : [...scopes, scope]);

  return (
    <>
      <h1>Settings</h1>
      <ErrorNote error={error} />
      <Card title="API keys" id="keys">
        {!keys.data ? <Loading what="keys" /> : (
          <table>
            <thead><tr><th>id</th><th>name</th><th>scopes</th><th>origins</th><th>created</th><th>state</th><th /></tr></thead>
            <tbody>
              {keys.data.keys.map((k) => (
                <tr key={k.id}>
                  <td><code>{k.id}</code></td>
                  <td>{k.name}</td>
                  <td>{k.public ? 'public: events only' : k.scopes.join(', ')}</td>
                  <td>{(k.origins ?? []).join(', ')}</td>
                  <td>{time(k.created_at)}</td>
                  <td>{k.revoked ? 'revoked' : 'active'}</td>
                  <td>{k.id === session.id ? <span class="note">this key</span>
                    : !k.revoked && <button type="button" class="danger" onClick={() => revoke(k.id)}>Revoke</button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
      <Card title="New key" id="new-key">
        <form onSubmit={create}>
          <label for="key-name">Name</label>
          <input id="key-name" value={name} required onInput={(e) => setName(e.currentTarget.value)} />
          <label class="check">
            <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.currentTarget.checked)} />
            Public (a website's tracker: may only send events, from the origins below)
          </label>
          {isPublic ? (
            <>
              <label for="key-origins">Allowed origins (comma separated)</label>
              <input id="key-origins" value={origins} placeholder="https://shop.example" required
                onInput={(e) => setOrigins(e.currentTarget.value)} />
            </>
          ) : (
            <fieldset>
              <legend>Scopes</legend>
              {SCOPES.map((scope) => (
                <label class="check" key={scope}>
                  <input type="checkbox" checked={scopes.includes(scope)} onChange={() => toggle(scope)} /> {scope}
                </label>
              ))}
            </fieldset>
          )}
          <button type="submit" disabled={!name || (!isPublic && scopes.length === 0)}>Create key</button>
        </form>
        {created && (
          <div class="created" role="status">
            <p>Key <code>{created.id}</code> created. Copy it now: it is not shown again.</p>
            <pre class="secret">{created.key}</pre>
          </div>
        )}
      </Card>
    </>
  );
}
