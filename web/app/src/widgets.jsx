// Small pieces the pages share: errors, empty states, tables of rows.
export function ErrorNote({ error }) {
  if (!error) return null;
  return <p class="error" role="alert">{error.message ?? String(error)}</p>;
}

export function Loading({ what = '' }) {
  return <p class="loading" aria-live="polite">Loading{what ? ` ${what}` : ''}…</p>;
}

export function Stat({ label, value, note }) {
  return (
    <div class="stat">
      <div class="stat-value">{value}</div>
      <div class="stat-label">{label}</div>
      {note && <div class="stat-note">{note}</div>}
    </div>
  );
}

export function Card({ title, actions, children, id }) {
  return (
    <section class="card" aria-labelledby={id}>
      <div class="card-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}
