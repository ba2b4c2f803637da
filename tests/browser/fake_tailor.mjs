#!/usr/bin/env node
// A stand-in for the tailor binary, for checking these tests themselves (TAILOR_BIN=./fake_tailor.mjs)
// when no build is at hand. It implements only what the tests assume of the real server, so it
// doubles as a statement of that contract: `keys create --json`, `serve --listen --port-file`,
// GET /tailor.js, the Segment tracking endpoints (batch and single, gzip, keys by body/Basic/Bearer,
// public keys bound to origins, CORS), identity merging, dedup by messageId, GET /v1/profiles/{id}.
// It is not a model of tailor's semantics beyond that; the real server is the subject of the tests.
import { readFileSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const all = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const dataDir = opt('--data-dir');
const keysFile = path.join(dataDir, 'keys.json');
const loadKeys = () => (existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : []);

if (args.includes('keys') && args.includes('create')) {
  mkdirSync(dataDir, { recursive: true });
  const keys = loadKeys();
  const id = randomBytes(4).toString('hex');
  const key = `tk_${id}_${randomBytes(16).toString('hex')}`;
  keys.push({ id, key, name: opt('--name'), scope: opt('--scope'), public: args.includes('--public'),
    origins: all('--origin') });
  writeFileSync(keysFile, JSON.stringify(keys));
  console.log(JSON.stringify({ id, key }));
  process.exit(0);
}
if (!args.includes('serve')) {
  console.error('fake tailor: only `keys create` and `serve`');
  process.exit(2);
}

const keys = loadKeys();
const profiles = new Map(); // external id ("p:x" / "a:x") → profile
const SINGLE = { t: 'track', i: 'identify', p: 'page', a: 'alias', track: 'track',
  identify: 'identify', page: 'page', alias: 'alias' };
const TYPES = { 'Product Added': 'add_to_cart', 'Order Completed': 'purchase' };

function profileFor(ext, known) {
  if (!profiles.has(ext)) {
    profiles.set(ext, { id: ext.slice(2), anonymous: !known, aliases: [ext.slice(2)], traits: {}, events: [] });
  }
  return profiles.get(ext);
}
function merge(from, into) {
  if (from === into) return;
  for (const e of from.events) if (!into.events.some((x) => x.id === e.id)) into.events.push(e);
  Object.assign(into.traits, { ...from.traits, ...into.traits });
  into.aliases.push(...from.aliases);
  for (const [k, v] of profiles) if (v === from) profiles.set(k, into);
}
function owner(userId, anonymousId) {
  if (!userId) return profileFor(`a:${anonymousId}`, false);
  const known = profileFor(`p:${userId}`, true);
  if (anonymousId) {
    const anon = profiles.get(`a:${anonymousId}`);
    if (!anon) profiles.set(`a:${anonymousId}`, known);
    else if (anon.anonymous) merge(anon, known);
    if (!known.aliases.includes(anonymousId)) known.aliases.push(anonymousId);
  }
  return known;
}
function apply(msg, userAgent) {
  const p = msg.type === 'alias' ? profileFor(`p:${msg.userId}`, true) : owner(msg.userId, msg.anonymousId);
  const ua = msg.context?.userAgent || userAgent || '';
  if (/Chrome\//.test(ua)) p.traits.browser = 'Chrome';
  if (msg.type === 'identify') Object.assign(p.traits, msg.traits || {});
  if (msg.type === 'alias') {
    const prev = profiles.get(`a:${msg.previousId}`) || profiles.get(`p:${msg.previousId}`);
    if (prev) merge(prev, p); else profiles.set(`a:${msg.previousId}`, p);
  }
  if (msg.type === 'track' || msg.type === 'page') {
    if (p.events.some((e) => e.id === msg.messageId)) return;
    const props = msg.properties || {};
    const type = msg.type === 'page' ? 'page_view'
      : TYPES[msg.event] || msg.event.toLowerCase().replace(/\W+/g, '_');
    p.events.unshift({ id: msg.messageId, type, time: msg.timestamp || msg.originalTimestamp,
      item_id: props.item_id ?? props.product_id, price: props.price, properties: props,
      context: msg.context || {} });
  }
}

function authKey(req, body) {
  const auth = req.headers.authorization || '';
  let presented = body?.writeKey;
  if (auth.startsWith('Basic ')) presented = Buffer.from(auth.slice(6), 'base64').toString().split(':')[0];
  if (auth.startsWith('Bearer ')) presented = auth.slice(7);
  return keys.find((k) => k.key === presented);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const origin = req.headers.origin;
    const cors = origin ? { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' } : {};
    const send = (status, obj, extra = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...extra }).end(JSON.stringify(obj));
    };
    const url = new URL(req.url, 'http://x');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'POST, GET, OPTIONS',
        'Access-Control-Allow-Headers': 'Content-Type, Authorization, X-Retry-Count',
        'Access-Control-Max-Age': '600' }).end();
      return;
    }
    if (req.method === 'GET' && url.pathname === '/tailor.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript; charset=utf-8' })
        .end(readFileSync(path.join(HERE, '..', '..', 'web', 'tailor.js')));
      return;
    }
    if (req.method === 'GET' && url.pathname.startsWith('/v1/profiles/')) {
      const key = authKey(req);
      if (!key || key.scope !== 'admin') return send(401, { error: { code: 'unauthenticated' } });
      const id = decodeURIComponent(url.pathname.slice('/v1/profiles/'.length));
      const p = profiles.get(`p:${id}`) || profiles.get(`a:${id}`);
      if (!p) return send(404, { error: { code: 'not_found' } });
      return send(200, { ...p, event_count: p.events.length, segments: [] });
    }
    const m = url.pathname.match(/^\/v1\/(batch|b|t|i|p|a|track|identify|page|alias)$/);
    if (req.method === 'POST' && m) {
      let body;
      try {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        body = JSON.parse(raw.toString());
      } catch (e) {
        return send(400, { error: { code: 'invalid_argument', message: String(e) } }, cors);
      }
      const key = authKey(req, body);
      if (!key) return send(401, { error: { code: 'unauthenticated' } }, cors);
      if (key.public && !key.origins.includes(origin)) {
        return send(403, { error: { code: 'permission_denied', message: `origin ${origin}` } });
      }
      const msgs = m[1] === 'batch' || m[1] === 'b' ? body.batch : [{ type: SINGLE[m[1]], ...body }];
      for (const msg of msgs) apply(msg, req.headers['user-agent']);
      return send(200, { success: true }, cors);
    }
    send(404, { error: { code: 'not_found' } });
  });
});

const [host, port] = opt('--listen').split(':');
server.listen(Number(port), host, () => {
  writeFileSync(opt('--port-file'), `${server.address().port}\n`);
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
