// web/tailor.js in headless Chromium against a fake collector (no tailor binary needed): what the
// tracker puts on the wire, when it sends, retries, beacons, identity and the stub queue.
//
//   node --test tracker_unit.mjs
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { REPO, launchBrowser, startPageServer } from './harness.mjs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// The fake collector: serves tailor.js, records batch requests, fails the next N on request.
const collector = { requests: [], failNext: 0, failStatus: 500 };
let collectorServer;
let collectorBase;
let pages;
let browserParts;

function waitFor(predicate, timeoutMs = 5000, what = 'condition') {
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    while (!predicate()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await sleep(25);
    }
  })();
}

const messages = () => collector.requests.flatMap((r) => r.body.batch);

function page(head, body = '') {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Test page</title>${head}</head>
<body>${body}</body></html>`;
}

const tag = (attrs = '') => `<script src="${collectorBase}/tailor.js" data-write-key="wk-test" ${attrs} async></script>`;

before(async () => {
  const source = await readFile(path.join(REPO, 'web', 'tailor.js'), 'utf8');
  collectorServer = http.createServer((req, res) => {
    const cors = { 'Access-Control-Allow-Origin': req.headers.origin || '*' };
    if (req.url === '/tailor.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(source);
      return;
    }
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
      if (req.method === 'OPTIONS') {
        collector.preflights = (collector.preflights || 0) + 1;
        res.writeHead(204, cors).end();
        return;
      }
      const failed = collector.failNext > 0;
      if (failed) collector.failNext--;
      collector.requests.push({
        method: req.method, url: req.url, headers: req.headers, body: JSON.parse(data), failed,
        at: Date.now(),
      });
      res.writeHead(failed ? collector.failStatus : 200, { ...cors, 'Content-Type': 'application/json' })
        .end('{"success":true}');
    });
  });
  await new Promise((resolve) => collectorServer.listen(0, '127.0.0.1', resolve));
  collectorBase = `http://127.0.0.1:${collectorServer.address().port}`;

  pages = await startPageServer({
    '/basic': () => page(tag(),
      '<a id="buy" href="#" data-tailor-track="Product Added" data-tailor-prop-item_id="sku-1" ' +
      'data-tailor-prop-price="19.5" data-tailor-prop-qty="2" data-tailor-prop-code="007" ' +
      'data-tailor-prop-gift="true"><b id="inner">Buy</b></a><p id="plain">plain</p>'),
    '/stub': () => page(`<script>
      window.tailor = window.tailor || [];
      window.tailor.push(['identify', 'stub-user', {plan: 'free'}]);
      window.tailor.push(['track', 'Early Event', {n: 1}]);
    </script>${tag()}`),
    '/manual': () => page(`<script src="${collectorBase}/tailor.js"></script>`),
    '/hosted': () => page(tag(`data-host="${collectorBase}/"`)),
    '/next': () => page(tag()),
  });
  browserParts = await launchBrowser();
});

after(async () => {
  if (browserParts) await browserParts.browser.close();
  if (pages) await pages.close();
  if (collectorServer) {
    collectorServer.closeAllConnections();
    await new Promise((resolve) => collectorServer.close(resolve));
  }
});

beforeEach(() => {
  collector.requests = [];
  collector.failNext = 0;
  collector.preflights = 0;
});

async function open(urlPath) {
  const p = await browserParts.context.newPage();
  const errors = [];
  p.on('pageerror', (e) => errors.push(String(e)));
  p.errors = errors;
  await p.goto(pages.origin + urlPath);
  await p.waitForFunction(() => window.tailor && window.tailor.__tailor);
  return p;
}

test('page view on load: Segment batch body, page properties and context', async () => {
  const p = await open('/basic?utm_source=news&utm_medium=email&utm_campaign=spring&x=1');
  await p.evaluate(() => window.tailor.flush());
  assert.equal(collector.requests.length, 1);
  const req = collector.requests[0];
  assert.equal(req.method, 'POST');
  assert.equal(req.url, '/v1/batch');
  assert.match(req.headers['content-type'], /^text\/plain/);
  assert.equal(collector.preflights, 0, 'no CORS preflight');
  assert.equal(req.body.writeKey, 'wk-test');
  assert.ok(!Number.isNaN(Date.parse(req.body.sentAt)));
  const [msg] = req.body.batch;
  assert.equal(msg.type, 'page');
  assert.match(msg.messageId, UUID);
  assert.match(msg.anonymousId, UUID);
  assert.equal(msg.userId, undefined);
  assert.ok(!Number.isNaN(Date.parse(msg.timestamp)));
  const url = `${pages.origin}/basic?utm_source=news&utm_medium=email&utm_campaign=spring&x=1`;
  assert.deepEqual(msg.properties, {
    url, path: '/basic', referrer: '', title: 'Test page',
    search: '?utm_source=news&utm_medium=email&utm_campaign=spring&x=1',
  });
  assert.deepEqual(msg.context.page, msg.properties);
  assert.deepEqual(msg.context.campaign, { source: 'news', medium: 'email', name: 'spring' });
  assert.deepEqual(msg.context.library, { name: 'tailor.js', version: '0.1.0' });
  assert.equal(msg.context.userAgent, await p.evaluate(() => navigator.userAgent));
  assert.equal(msg.context.locale, await p.evaluate(() => navigator.language));
  const cookie = await p.evaluate(() => document.cookie);
  assert.ok(cookie.includes(`tailor_aid=${msg.anonymousId}`), cookie);
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('clicks on marked elements become track messages with typed properties', async () => {
  const p = await open('/basic');
  await p.click('#inner');
  await p.click('#plain'); // unmarked: nothing
  await p.evaluate(() => window.tailor.flush());
  const tracks = messages().filter((m) => m.type === 'track');
  assert.equal(tracks.length, 1);
  assert.equal(tracks[0].event, 'Product Added');
  assert.deepEqual(tracks[0].properties, { item_id: 'sku-1', price: 19.5, qty: 2, code: '007', gift: true });
  assert.equal(tracks[0].context.campaign, undefined, 'no campaign without utm_*');
  await p.close();
});

test('identify keeps the user id and later events carry it; the anonymous id stays', async () => {
  const p = await open('/basic');
  await p.evaluate(() => window.tailor.identify('u-9', { plan: 'pro' }));
  await p.evaluate(() => window.tailor.track('After Identify', { a: 1 }));
  await p.evaluate(() => window.tailor.flush());
  const [pageView, identify, track] = messages();
  assert.equal(pageView.userId, undefined);
  assert.equal(identify.type, 'identify');
  assert.equal(identify.userId, 'u-9');
  assert.deepEqual(identify.traits, { plan: 'pro' });
  assert.equal(identify.anonymousId, pageView.anonymousId);
  assert.equal(track.userId, 'u-9');
  assert.equal(track.anonymousId, pageView.anonymousId);
  assert.equal(await p.evaluate(() => localStorage.getItem('tailor_uid')), 'u-9');
  await p.close();

  // A later page load still knows the user and the same anonymous id.
  collector.requests = [];
  const q = await open('/next');
  await q.evaluate(() => window.tailor.flush());
  const [next] = messages();
  assert.equal(next.userId, 'u-9');
  assert.equal(next.anonymousId, pageView.anonymousId);

  // reset(): a new anonymous id, no user.
  await q.evaluate(() => window.tailor.reset());
  await q.evaluate(() => window.tailor.track('After Reset'));
  await q.evaluate(() => window.tailor.flush());
  const last = messages().at(-1);
  assert.equal(last.userId, undefined);
  assert.match(last.anonymousId, UUID);
  assert.notEqual(last.anonymousId, pageView.anonymousId);
  assert.equal(await q.evaluate(() => localStorage.getItem('tailor_uid')), null);
  assert.ok((await q.evaluate(() => document.cookie)).includes(`tailor_aid=${last.anonymousId}`));
  await q.close();
});

test('flushes on its own after 2 s, and at once at 20 messages', async () => {
  const p = await open('/basic');
  const start = Date.now();
  await waitFor(() => collector.requests.length === 1, 4000, 'the timed flush');
  const waited = collector.requests[0].at - start;
  assert.ok(waited >= 1500 && waited < 3500, `timed flush after ${waited} ms`);

  collector.requests = [];
  const t0 = Date.now();
  await p.evaluate(() => { for (let i = 0; i < 20; i++) window.tailor.track('Bulk', { i }); });
  await waitFor(() => collector.requests.length === 1, 1500, 'the flush at 20 messages');
  assert.ok(collector.requests[0].at - t0 < 1000);
  assert.equal(collector.requests[0].body.batch.length, 20);

  // 45 messages: a request at each 20th, the rest with the explicit flush.
  collector.requests = [];
  await p.evaluate(() => { for (let i = 0; i < 45; i++) window.tailor.track('More', { i }); });
  await p.evaluate(() => window.tailor.flush());
  assert.deepEqual(collector.requests.map((r) => r.body.batch.length).sort(), [20, 20, 5]);
  assert.equal(messages().length, 45);
  await p.close();
});

test('a failed batch is sent once more with the same messageIds, then dropped', async () => {
  const p = await open('/basic');
  collector.failNext = 1;
  await p.evaluate(() => window.tailor.flush()); // fails (500)
  await p.evaluate(() => window.tailor.flush()); // the retry
  assert.equal(collector.requests.length, 2);
  assert.equal(collector.requests[0].failed, true);
  assert.deepEqual(collector.requests[1].body.batch.map((m) => m.messageId),
    collector.requests[0].body.batch.map((m) => m.messageId));

  collector.requests = [];
  collector.failNext = 2;
  await p.evaluate(() => window.tailor.track('Doomed'));
  await p.evaluate(() => window.tailor.flush());
  await p.evaluate(() => window.tailor.flush());
  await p.evaluate(() => window.tailor.flush());
  assert.equal(collector.requests.length, 2, 'tried twice, then given up');

  // A 4xx answer is final: no retry.
  collector.requests = [];
  collector.failNext = 1;
  collector.failStatus = 400;
  await p.evaluate(() => window.tailor.track('Refused'));
  await p.evaluate(() => window.tailor.flush());
  await p.evaluate(() => window.tailor.flush());
  collector.failStatus = 500;
  assert.equal(collector.requests.length, 1);

  // The collector being down is a failure like any other, and never an error in the page.
  const result = await p.evaluate(async () => {
    window.tailor.init({ host: 'http://127.0.0.1:9' });
    window.tailor.track('Unreachable');
    return typeof (await window.tailor.flush());
  });
  assert.equal(result, 'undefined');
  assert.deepEqual(p.errors, []);
  await p.close();
});

test('pagehide hands queued messages to sendBeacon', async () => {
  const p = await open('/basic');
  await p.evaluate(() => window.tailor.track('Before Leaving', { x: 1 }));
  await p.goto(`${pages.origin}/next`);
  await waitFor(() => messages().some((m) => m.event === 'Before Leaving'), 5000, 'the beacon');
  const beacon = collector.requests.find((r) => r.body.batch.some((m) => m.event === 'Before Leaving'));
  assert.match(beacon.headers['content-type'], /^text\/plain/);
  assert.equal(beacon.body.writeKey, 'wk-test');
  assert.deepEqual(beacon.body.batch.map((m) => m.type), ['page', 'track'], 'page view and track');
  await p.close();
});

test('calls queued through the stub run after load', async () => {
  const p = await open('/stub');
  await p.evaluate(() => window.tailor.flush());
  // Only this page's: the previous test's last page may still be beaconing its page view.
  const sent = messages().filter((m) => m.context.page.path === '/stub');
  assert.deepEqual(sent.map((m) => m.type), ['page', 'identify', 'track']);
  assert.equal(sent[1].userId, 'stub-user');
  assert.equal(sent[2].event, 'Early Event');
  assert.equal(sent[2].userId, 'stub-user');
  await p.close();
});

test('manual init and data-host', async () => {
  const p = await open('/manual');
  await p.evaluate(() => window.tailor.track('Before Init'));
  await p.evaluate(() => window.tailor.flush());
  assert.equal(collector.requests.length, 0, 'nothing is sent without a write key');
  await p.evaluate((host) => window.tailor.init({ writeKey: 'wk-manual', host }), collectorBase);
  await p.evaluate(() => window.tailor.flush());
  assert.equal(collector.requests.length, 1);
  assert.equal(collector.requests[0].body.writeKey, 'wk-manual');
  assert.deepEqual(collector.requests[0].body.batch.map((m) => m.type), ['track', 'page']);
  await p.close();

  collector.requests = [];
  const q = await open('/hosted');
  await q.evaluate(() => window.tailor.flush());
  assert.equal(collector.requests.length, 1);
  assert.equal(collector.requests[0].url, '/v1/batch');
  await q.close();
});

test('bad input never throws into the page', async () => {
  const p = await open('/basic');
  const outcome = await p.evaluate(() => {
    const loop = {};
    loop.self = loop;
    window.tailor.track('Circular', loop);
    window.tailor.track();
    window.tailor.identify();
    window.tailor.page(null);
    return 'ok';
  });
  assert.equal(outcome, 'ok');
  await p.evaluate(() => window.tailor.flush());
  assert.ok(!messages().some((m) => m.event === 'Circular'));
  assert.deepEqual(p.errors, []);
  assert.deepEqual(browserParts.outside, []);
  await p.close();
});

test('ids are version-4 UUIDs without crypto.randomUUID (plain-http sites)', async () => {
  const context = await browserParts.newContext();
  await context.addInitScript(() => {
    Object.defineProperty(Crypto.prototype, 'randomUUID', { value: undefined });
  });
  const p = await context.newPage();
  await p.goto(`${pages.origin}/basic`);
  await p.waitForFunction(() => window.tailor && window.tailor.__tailor);
  assert.equal(await p.evaluate(() => typeof crypto.randomUUID), 'undefined');
  await p.evaluate(() => { for (let i = 0; i < 50; i++) window.tailor.track('Id Check'); });
  await p.evaluate(() => window.tailor.flush());
  const ids = messages().flatMap((m) => [m.messageId, m.anonymousId]);
  assert.ok(ids.length >= 100);
  for (const id of ids) assert.match(id, UUID);
  assert.equal(new Set(messages().map((m) => m.messageId)).size, messages().length, 'distinct');
  await context.close();
});
