/*! tailor.js 0.1.0: page views, clicks and identity for a tailor server. No dependencies.
 *  <script src="https://TAILOR_HOST/tailor.js" data-write-key="KEY" async></script>
 *  Sends Segment-style batches ({batch, sentAt, writeKey}) to POST {host}/v1/batch, and shows
 *  survey questions: tailor.ask('#where', {survey: 'golf', question: 'level'}). */
(function () {
  'use strict';
  if (window.tailor && window.tailor.__tailor) return; // loaded twice: keep the first

  const VERSION = '0.1.0';
  const AID_COOKIE = 'tailor_aid';
  const UID_KEY = 'tailor_uid';
  const FLUSH_MS = 2000;
  const FLUSH_AT = 20;
  const MAX_BODY = 60000; // keepalive fetch and sendBeacon refuse bodies over 64 KB (in UTF-16 units here)

  const script = document.currentScript ||
    document.querySelector('script[src*="/tailor.js"]');
  const config = { writeKey: '', host: '' };
  let queue = []; // messages not yet sent: {msg, tries}
  const inflight = new Set();
  let timer = null;
  let anonymousId = '';
  let userId = '';

  function uuid() {
    const c = window.crypto;
    if (c && c.randomUUID) return c.randomUUID(); // secure contexts only
    const rnd = () => (c && c.getRandomValues ? c.getRandomValues(new Uint8Array(1))[0] : Math.random() * 256);
    // A version-4 UUID: each 0/1/8 of the template becomes random hex, with the version and variant bits set.
    return '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (d) => (d ^ (rnd() & (15 >> (d / 4)))).toString(16));
  }

  // Storage can throw (privacy modes, sandboxed iframes): tracking must never break the page.
  function storage(fn) {
    try { return fn(localStorage) || ''; } catch (e) { return ''; }
  }

  function readCookie() {
    const m = document.cookie.match(/(?:^|;\s*)tailor_aid=([^;]+)/);
    return m ? decodeURIComponent(m[1]) : '';
  }

  // First-party cookie so the id survives visits; rewritten on each load to keep it a year.
  function writeCookie(id) {
    const secure = location.protocol === 'https:' ? '; Secure' : '';
    try {
      document.cookie = `${AID_COOKIE}=${encodeURIComponent(id)}; Max-Age=31536000; Path=/; SameSite=Lax${secure}`;
    } catch (e) { /* cookies disabled: the id lives for this page only */ }
  }

  function pageInfo() {
    return {
      url: location.href,
      path: location.pathname,
      referrer: document.referrer,
      title: document.title,
      search: location.search,
    };
  }

  function context() {
    const ctx = {
      page: pageInfo(),
      userAgent: navigator.userAgent,
      locale: navigator.language,
      library: { name: 'tailor.js', version: VERSION },
    };
    const q = new URLSearchParams(location.search);
    const campaign = {};
    for (const k of ['source', 'medium', 'name', 'term', 'content']) {
      const v = q.get(k === 'name' ? 'utm_campaign' : `utm_${k}`);
      if (v) campaign[k] = v;
    }
    if (Object.keys(campaign).length) ctx.campaign = campaign;
    return ctx;
  }

  function enqueue(type, fields) {
    const msg = Object.assign({
      type,
      messageId: uuid(),
      anonymousId,
      timestamp: new Date().toISOString(),
      context: context(),
    }, fields);
    if (userId && !msg.userId) msg.userId = userId;
    // Serialized now, so that a property the page can't serialize fails this call, not a flush.
    queue.push({ msg, len: JSON.stringify(msg).length + 1, tries: 0 });
    if (queue.length >= FLUSH_AT) flush();
    else if (!timer) timer = setTimeout(flush, FLUSH_MS);
  }

  // Splits the queue into request bodies under the count and size limits.
  function takeBatches() {
    const batches = [];
    let items = [];
    let size = 0;
    for (const item of queue) {
      if (items.length && (items.length >= FLUSH_AT || size + item.len > MAX_BODY)) {
        batches.push(items);
        items = [];
        size = 0;
      }
      items.push(item);
      size += item.len;
    }
    if (items.length) batches.push(items);
    queue = [];
    return batches;
  }

  function body(items) {
    return JSON.stringify({
      batch: items.map((i) => i.msg),
      sentAt: new Date().toISOString(),
      writeKey: config.writeKey,
    });
  }

  // A failed batch goes back once; messageIds stay the same, so the server drops repeats.
  function requeue(items) {
    const again = items.filter((i) => ++i.tries < 2);
    queue = again.concat(queue);
    if (queue.length && !timer) timer = setTimeout(flush, FLUSH_MS);
  }

  function send(items) {
    const text = body(items);
    // text/plain keeps this a "simple" CORS request: no preflight round trip. keepalive lets the
    // request outlive the page, but browsers refuse it for bodies over 64 KB.
    const p = fetch(`${config.host}/v1/batch`, {
      method: 'POST',
      keepalive: text.length < MAX_BODY,
      body: text,
      headers: { 'Content-Type': 'text/plain' },
    }).then((res) => {
      // 4xx means the batch itself is refused: sending it again cannot help.
      if (res.status >= 500 || res.status === 429) requeue(items);
    }, () => requeue(items)).then(() => inflight.delete(p));
    inflight.add(p);
  }

  function flush() {
    clearTimeout(timer);
    timer = null;
    if (config.writeKey && config.host) takeBatches().forEach(send);
    return Promise.all(Array.from(inflight)).then(() => undefined);
  }

  // The page is going away (or may be killed in the background): hand the queue to the browser.
  function beacon() {
    if (!config.writeKey || !config.host || !queue.length) return;
    for (const items of takeBatches()) {
      let queued = false;
      try {
        queued = navigator.sendBeacon(`${config.host}/v1/batch`, body(items));
      } catch (e) { /* fall back to fetch */ }
      if (!queued) send(items);
    }
  }

  // data-tailor-prop-* values arrive as strings; canonical numbers and booleans get their type.
  function typed(v) {
    if (v === 'true' || v === 'false') return v === 'true';
    return v !== '' && String(Number(v)) === v ? Number(v) : v;
  }

  function onClick(event) {
    const target = event.target;
    const el = target && target.closest && target.closest('[data-tailor-track]');
    if (!el) return;
    const properties = {};
    for (const attr of Array.from(el.attributes)) {
      if (attr.name.startsWith('data-tailor-prop-')) {
        properties[attr.name.slice(17)] = typed(attr.value);
      }
    }
    api.track(el.getAttribute('data-tailor-track'), properties);
  }

  // --- Surveys: one question in the page, its answer sent as the visitor's declared trait.
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  // The visitor's anonymous id: the server answers for the profile it is linked to (identify
  // links them), and a public key may not name a profile.
  function who() {
    return { anonymous_id: anonymousId };
  }

  // The question as a form: choices as radio buttons or check boxes, a short scale as radio
  // buttons (a long one as a number field), free text as a text area.
  function questionForm(q, submitText) {
    const form = el('form', 'tailor-survey');
    form.appendChild(el('p', 'tailor-question', q.text));
    const name = `tailor-q-${q.id}`;
    const options = q.kind === 'scale' && q.max - q.min <= 10
      ? Array.from({ length: q.max - q.min + 1 }, (_, i) => String(q.min + i))
      : (q.choices || []);
    if (q.kind === 'text') {
      const area = el('textarea', 'tailor-text');
      area.name = name;
      area.maxLength = 1000;
      form.appendChild(area);
    } else if (q.kind === 'scale' && !options.length) {
      const input = el('input', 'tailor-number');
      Object.assign(input, { type: 'number', name, min: q.min, max: q.max, step: 1 });
      form.appendChild(input);
    } else {
      for (const choice of options) {
        const label = el('label', 'tailor-choice');
        const input = el('input');
        Object.assign(input, { type: q.kind === 'multiple' ? 'checkbox' : 'radio', name, value: choice });
        label.appendChild(input);
        label.appendChild(document.createTextNode(` ${choice}`));
        form.appendChild(label);
      }
    }
    const button = el('button', 'tailor-submit', submitText || 'Send');
    button.type = 'submit';
    form.appendChild(button);
    form.appendChild(el('p', 'tailor-error'));
    return form;
  }

  // The answer as the server wants it; undefined when none is given.
  function answerOf(q, form) {
    const fields = Array.from(form.querySelectorAll(`[name="tailor-q-${q.id}"]`));
    if (q.kind === 'text') {
      const text = fields[0].value.trim();
      return text || undefined;
    }
    if (q.kind === 'multiple') {
      const picked = fields.filter((f) => f.checked).map((f) => f.value);
      return picked.length ? picked : undefined;
    }
    const field = fields.length === 1 && fields[0].type === 'number' ? fields[0] : fields.find((f) => f.checked);
    if (!field || field.value === '') return undefined;
    return q.kind === 'scale' ? Number(field.value) : field.value;
  }

  function surveyPost(base, path, fields) {
    return fetch(`${base}/${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' }, // a simple request: no preflight
      body: JSON.stringify(Object.assign({ writeKey: config.writeKey }, who(), fields)),
    }).then((res) => res.json().catch(() => ({})).then((json) => ({ status: res.status, json })));
  }

  // Shows question `options.question` of survey `options.survey` in `target` (an element or a
  // selector), records that it was shown, and sends the answer when the form is submitted.
  // Resolves with the server's reply ({anonymous_id, trait, value}) once answered, or null when the question
  // cannot be shown here (unknown, closed, not for this channel).
  function ask(target, options) {
    options = options || {};
    const node = typeof target === 'string' ? document.querySelector(target) : target;
    if (!node || !options.survey || !options.question || !config.writeKey || !config.host) {
      return Promise.resolve(null);
    }
    const channel = options.channel || 'web';
    const base = `${config.host}/v1/surveys/${encodeURIComponent(options.survey)}`;
    const url = `${base}/questions/${encodeURIComponent(options.question)}?channel=${encodeURIComponent(channel)}`;
    return fetch(url, { headers: { Authorization: `Bearer ${config.writeKey}` } })
      .then((res) => (res.ok ? res.json() : null), () => null)
      .then((found) => {
        if (!found || !found.question) return null;
        const q = found.question;
        const form = questionForm(q, options.submitText);
        node.replaceChildren(form);
        surveyPost(base, 'shown', { question: q.id, channel }).catch(() => {});
        return new Promise((resolve) => {
          const error = form.querySelector('.tailor-error');
          form.addEventListener('submit', (event) => {
            event.preventDefault();
            const answer = answerOf(q, form);
            if (answer === undefined) {
              error.textContent = options.missingText || 'Please choose an answer.';
              return;
            }
            surveyPost(base, 'answers', { question: q.id, answer, channel }).then(({ status, json }) => {
              if (status !== 200) {
                error.textContent = (json.error && json.error.message) || `error ${status}`;
                return;
              }
              node.replaceChildren(el('p', 'tailor-thanks', options.thanksText || 'Thank you!'));
              resolve(json);
            }, () => { error.textContent = 'Could not send the answer; please try again.'; });
          });
        });
      });
  }

  // Public methods never throw into the page.
  function safe(fn) {
    return function () {
      try {
        return fn.apply(null, arguments);
      } catch (e) {
        if (window.console) console.warn('tailor.js:', e);
      }
    };
  }

  let pageSent = false;
  const api = {
    __tailor: VERSION,
    init: safe((options) => {
      options = options || {};
      if (options.writeKey) config.writeKey = String(options.writeKey);
      if (options.host) config.host = String(options.host).replace(/\/+$/, '');
      // The first page view is recorded once, when the tracker is first configured.
      if (config.writeKey && !pageSent) {
        pageSent = true;
        api.page();
      }
    }),
    identify: safe((id, traits) => {
      if (id && typeof id === 'object') { traits = id; id = ''; }
      if (id) {
        userId = String(id);
        storage((ls) => ls.setItem(UID_KEY, userId));
      }
      enqueue('identify', { userId: userId || undefined, traits: traits || {} });
    }),
    track: safe((event, properties) => {
      if (!event) return;
      enqueue('track', { event: String(event), properties: properties || {} });
    }),
    page: safe((name, properties) => {
      if (name && typeof name === 'object') { properties = name; name = ''; }
      const fields = { properties: Object.assign(pageInfo(), properties) };
      if (name) fields.name = String(name);
      enqueue('page', fields);
    }),
    // tailor.ask('#golf-question', {survey: 'golf', question: 'level'}): see ask() above.
    ask: (target, options) => {
      try {
        return ask(target, options).catch(() => null);
      } catch (e) {
        return Promise.resolve(null);
      }
    },
    reset: safe(() => {
      userId = '';
      storage((ls) => ls.removeItem(UID_KEY));
      anonymousId = uuid();
      writeCookie(anonymousId);
    }),
    flush: () => {
      try {
        return flush();
      } catch (e) {
        return Promise.resolve();
      }
    },
  };

  anonymousId = readCookie() || uuid();
  writeCookie(anonymousId);
  userId = storage((ls) => ls.getItem(UID_KEY));

  const stub = Array.isArray(window.tailor) ? window.tailor : [];
  window.tailor = api;
  document.addEventListener('click', safe(onClick), true); // capture: page handlers can't hide it
  window.addEventListener('pagehide', safe(beacon));
  document.addEventListener('visibilitychange', safe(() => {
    if (document.visibilityState === 'hidden') beacon();
  }));

  const src = script && script.src;
  let origin = '';
  try { origin = src ? new URL(src).origin : ''; } catch (e) { /* keep '' */ }
  config.host = origin;
  const tagHost = script && script.getAttribute('data-host');
  const tagKey = script && script.getAttribute('data-write-key');
  // Calls made through the stub before load run in order, after the tag's own settings.
  if (tagKey) api.init({ writeKey: tagKey, host: tagHost || origin });
  else if (tagHost) api.init({ host: tagHost });
  for (const call of stub) {
    if (Array.isArray(call) && typeof api[call[0]] === 'function') {
      api[call[0]].apply(null, call.slice(1));
    }
  }
})();
