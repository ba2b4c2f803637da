// The one way the app talks to tailor serve: the /v1 routes with the signed-in key, JSON in and
// out, errors as ApiError carrying the server's code and message (shown as they are: they say
// what and where).

const KEY_ITEM = 'tailor.key';

export class ApiError extends Error {
  constructor(status, code, message, path) {
    super(message);
    this.status = status;
    this.code = code;
    this.path = path;  // the request's field the error is about ("$.rule"), when the server says
  }
}

// The key lives in the tab's session storage (or local storage when "remember" was ticked).
export function storedKey() {
  return sessionStorage.getItem(KEY_ITEM) ?? localStorage.getItem(KEY_ITEM) ?? '';
}

export function storeKey(key, remember) {
  sessionStorage.setItem(KEY_ITEM, key);
  if (remember) localStorage.setItem(KEY_ITEM, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
  localStorage.removeItem(KEY_ITEM);
}

function headers(key, extra = {}) {
  const all = { ...extra };
  if (key) all.Authorization = `Bearer ${key}`;
  return all;
}

async function failure(response) {
  let code = 'HTTP_' + response.status;
  let message = response.statusText || `HTTP ${response.status}`;
  let path;
  try {
    const body = await response.json();
    if (body?.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      path = body.error.path;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, code, message, path);
}

// `path` under the server ("/v1/segments"); `body` is sent as JSON.
export async function api(path, { method = 'GET', body, key = storedKey(), signal } = {}) {
  const init = { method, signal, headers: headers(key) };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  return response.json();
}

// The body as text (CSV exports).
export async function apiText(path, { key = storedKey() } = {}) {
  const response = await fetch(path, { headers: headers(key) });
  if (!response.ok) throw await failure(response);
  return response.text();
}

// Server-Sent Events read with fetch (EventSource cannot send the key): calls `onEvent(name,
// data)` for each event until `signal` aborts; resolves when the stream ends.
export async function stream(path, onEvent, { key = storedKey(), signal } = {}) {
  const response = await fetch(path, { headers: headers(key, { Accept: 'text/event-stream' }), signal });
  if (!response.ok) throw await failure(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    pending += value;
    let end;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const block = pending.slice(0, end);
      pending = pending.slice(end + 2);
      let name = 'message';
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) name = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
      }
      if (data.length > 0) onEvent(name, data.join('\n'));
    }
  }
}

export const encode = encodeURIComponent;
