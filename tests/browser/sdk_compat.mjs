// tailor serve speaks the Segment HTTP Tracking API well enough for the stock SDKs: events sent
// through @segment/analytics-node, @rudderstack/rudder-sdk-node and @segment/analytics-next (in
// headless Chromium) arrive once each, and anonymous activity joins the identified profile.
//
//   TAILOR_BIN=/path/to/tailor node --test sdk_compat.mjs
//
// Where each SDK posts (read from its source in node_modules):
//   analytics-node  POST {host}/v1/batch, JSON, Authorization: Basic base64(writeKey:), writeKey in body
//   rudder-sdk-node POST {dataPlaneUrl}/v1/batch, Basic auth (writeKey:), gzip'd body with
//                   Content-Encoding: gzip unless {gzip: false}; messages carry originalTimestamp
//   analytics-next  standard delivery: one message per POST to {apiHost}/t, /i, /p, /a; batching
//                   delivery: POST {apiHost}/b; Content-Type text/plain plus an Authorization
//                   header, so browsers send a CORS preflight (OPTIONS) first
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { Analytics as SegmentNode } from '@segment/analytics-node';
import RudderNode from '@rudderstack/rudder-sdk-node';

import { HERE, Tailor, exactlyOnce, launchBrowser, startPageServer } from './harness.mjs';

const AJS_DIR = path.join(HERE, 'node_modules', '@segment', 'analytics-next', 'dist', 'umd');

let tailor;
let pages;
let admin;
let sdk;
let ajsKey;
let browserParts;

const eventIds = (profile) => (profile.events || []).map((e) => e.id);
const hasAll = (ids) => (profile) => ids.every((id) => eventIds(profile).includes(id));

// analytics-next: the UMD build at /ajs/index.js; its lazily loaded chunks are fetched from
// {cdnURL}/analytics-next/bundles/, which this server also answers from the same folder.
async function serveAjs(req, res) {
  const url = new URL(req.url, 'http://x');
  const name = path.basename(url.pathname);
  if (!url.pathname.startsWith('/ajs/') || !/^[\w.-]+\.js$/.test(name)) return undefined;
  const text = await readFile(path.join(AJS_DIR, name)).catch(() => null);
  if (text === null) return undefined;
  res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(text);
  return undefined;
}

function ajsPage(segmentioOptions) {
  const settings = { apiKey: ajsKey.key, apiHost: `127.0.0.1:${tailor.port}/v1`, protocol: 'http' };
  return `<!doctype html><html><head><meta charset="utf-8"><title>AJS</title>
<script src="/ajs/index.js"></script>
<script>
  window.ajsReady = AnalyticsNext.AnalyticsBrowser.load(
    { writeKey: ${JSON.stringify(ajsKey.key)}, cdnURL: location.origin + '/ajs',
      cdnSettings: { integrations: { 'Segment.io': ${JSON.stringify(settings)} } } },
    { integrations: { 'Segment.io': ${JSON.stringify({ ...settings, ...segmentioOptions })} } }
  ).then(([analytics]) => { window.ajs = analytics; return true; });
</script></head><body>ajs</body></html>`;
}

before(async () => {
  tailor = await Tailor.create();
  pages = await startPageServer({
    '/standard': () => ajsPage({}),
    '/batching': () => ajsPage({ deliveryStrategy: { strategy: 'batching', config: { size: 10, timeout: 300 } } }),
  }, serveAjs);
  admin = await tailor.createKey('admin', 'admin');
  sdk = await tailor.createKey('sdk', 'write');
  ajsKey = await tailor.createKey('ajs', 'write', { isPublic: true, origin: pages.origin });
  await tailor.start();
});

after(async () => {
  if (browserParts) await browserParts.browser.close();
  if (pages) await pages.close();
  if (tailor && tailor.proc) await tailor.stop();
});

test('@segment/analytics-node: track, page, identify, alias arrive once; anonymous merged', async () => {
  const analytics = new SegmentNode({
    writeKey: sdk.key, host: tailor.base, flushAt: 2, flushInterval: 200, maxRetries: 1,
  });
  const responses = [];
  const errors = [];
  analytics.on('http_response', (r) => responses.push(r));
  analytics.on('error', (e) => errors.push(e));

  analytics.track({ anonymousId: 'seg-anon-1', event: 'Product Viewed', messageId: 'seg-track-1',
    properties: { item_id: 'sku-1', price: 5 } });
  analytics.page({ anonymousId: 'seg-anon-1', name: 'Home', messageId: 'seg-page-1',
    properties: { url: 'https://shop.example/', path: '/' } });
  // What analytics.js sends before sign-in: traits with an anonymousId only. They are kept on
  // the visitor's profile and merged into the user's on identify.
  analytics.identify({ anonymousId: 'seg-anon-1', messageId: 'seg-identify-0',
    traits: { golf_level: 'beginner' } });
  analytics.track({ anonymousId: 'seg-anon-2', event: 'Order Completed', messageId: 'seg-track-2',
    properties: { order_id: 'o-1', revenue: 30 } });
  analytics.identify({ anonymousId: 'seg-anon-1', userId: 'seg-user-1', messageId: 'seg-identify-1',
    traits: { email: 'grace@example.com', plan: 'team' } });
  // Segment's alias: previousId (here the second visitor's anonymous id) joins userId.
  analytics.alias({ previousId: 'seg-anon-2', userId: 'seg-user-1', messageId: 'seg-alias-1' });
  await analytics.flush();
  // A retry as a client would make it after a lost answer: same messageId, later request.
  analytics.track({ anonymousId: 'seg-anon-1', event: 'Product Viewed', messageId: 'seg-track-1',
    properties: { item_id: 'sku-1', price: 5 } });
  await analytics.closeAndFlush({ timeout: 10000 });

  const bad = responses.filter((r) => r.status >= 300)
    .map((r) => `POST ${r.url} -> ${r.status} ${r.statusText}; sent ${String(r.body).slice(0, 300)}`);
  assert.deepEqual(bad, [], 'every request accepted');
  assert.deepEqual(errors.map((e) => `${e.code}: ${e.reason}`), [], 'no SDK errors');
  assert.ok(responses.length >= 3, `${responses.length} requests`);

  // identify's anonymousId + userId joins seg-anon-1's events to the user...
  await tailor.waitForProfile(admin.key, 'seg-user-1', hasAll(['seg-track-1', 'seg-page-1']));
  // ...and alias joins seg-anon-2's (checked apart, so the failure says which one is missing).
  const ids = ['seg-track-1', 'seg-page-1', 'seg-track-2'];
  const profile = await tailor.waitForProfile(admin.key, 'seg-user-1', hasAll(ids), 5000)
    .catch((e) => { throw new Error(`alias seg-anon-2 -> seg-user-1 did not merge: ${e.message}`); });
  assert.deepEqual(exactlyOnce(ids, eventIds(profile)), [], 'each event stored once');
  assert.equal(profile.traits.plan, 'team');
  assert.equal(profile.traits.email, 'grace@example.com');
  assert.equal(profile.traits.golf_level, 'beginner', 'the anonymous visitor\'s trait merged');
  const byId = Object.fromEntries(profile.events.map((e) => [e.id, e]));
  assert.equal(byId['seg-page-1'].type, 'page_view');
  assert.equal(byId['seg-track-2'].type, 'purchase', 'Order Completed is a purchase');
  assert.equal(byId['seg-track-1'].item_id, 'sku-1');
});

// Segment's e-commerce spec: an order's items in properties.products. Each product is a line of
// the order that rules see (item, category, brand, price, quantity), tied to the order id, and
// the order's revenue is not counted on top of the lines.
test('@segment/analytics-node: an order\'s products array becomes its lines', async () => {
  const analytics = new SegmentNode({
    writeKey: sdk.key, host: tailor.base, flushAt: 1, flushInterval: 100, maxRetries: 1,
  });
  const responses = [];
  analytics.on('http_response', (r) => responses.push(r));
  const order = {
    userId: 'golfer-1', event: 'Order Completed', messageId: 'golf-order-1',
    properties: {
      order_id: 'G-1001', revenue: 60.3, shipping: 4.5, currency: 'EUR', coupon: 'SPRING',
      products: [
        { product_id: 'club-7i', sku: 'C7I', category: 'golf_clubs', name: '7 iron',
          brand: 'titleist', variant: 'intermediate', price: 0.1, quantity: 3, position: 1 },
        { product_id: 'balls-12', category: 'golf_balls', brand: 'srixon', price: 0.7,
          quantity: 1, coupon: 'BALLS10', position: 2 },
        { product_id: 'tee-pack', category: 'golf_accessories', price: 0.2, quantity: 1 },
      ],
    },
  };
  analytics.track(order);
  await analytics.flush();
  analytics.track(order);  // a retry after a lost answer: nothing is stored twice
  await analytics.closeAndFlush({ timeout: 10000 });
  const bad = responses.filter((r) => r.status >= 300).map((r) => `${r.status} ${String(r.body)}`);
  assert.deepEqual(bad, [], 'every request accepted');

  const ids = ['golf-order-1/0', 'golf-order-1/1', 'golf-order-1/2'];
  const profile = await tailor.waitForProfile(admin.key, 'golfer-1', hasAll(ids));
  assert.deepEqual(exactlyOnce(ids, eventIds(profile)), [], 'each line stored once');
  assert.equal(profile.events.length, 3, 'the lines replace the order event');
  const club = profile.events.find((e) => e.id === 'golf-order-1/0');
  assert.equal(club.type, 'purchase');
  assert.equal(club.item_id, 'club-7i');
  assert.equal(club.category, 'golf_clubs');
  assert.equal(club.order_id, 'G-1001');
  assert.equal(club.price, 0.1);
  assert.equal(club.quantity, 3);
  assert.equal(club.properties.brand, 'titleist');
  assert.equal(club.properties.variant, 'intermediate');
  assert.equal(club.properties.position, '1');
  assert.equal(club.properties.sku, 'C7I');
  assert.equal(club.properties['order.revenue'], '60.3');
  assert.equal(club.properties['order.coupon'], 'SPRING');
  const balls = profile.events.find((e) => e.id === 'golf-order-1/1');
  assert.equal(balls.properties.coupon, 'BALLS10');

  // Rules see the lines: the golf order counts, brand is a field, and the spend is exact
  // (0.1 × 3 + 0.7 + 0.2 = 1.2, not the order's revenue added again). golfer-1 is the only
  // profile with golf purchases on this server.
  const preview = async (rule) => {
    const r = await tailor.request('POST', '/v1/segments/preview?max_age_ms=0', {
      headers: { Authorization: `Bearer ${admin.key}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ rule }),
    });
    assert.equal(r.status, 200, r.describe());
    return r.json.size;
  };
  assert.equal(await preview('count(purchase where category = "golf_clubs") >= 1'), 1);
  assert.equal(await preview('count(purchase where properties.brand = "titleist") = 1'), 1);
  assert.equal(await preview('count(purchase where order_id = "G-1001") = 3'), 1);
  assert.equal(await preview('sum(purchase.spend) = 1.2'), 1);
  assert.equal(await preview('sum(purchase.value) = 1.2'), 1);
  assert.equal(await preview('distinct(purchase.order_id) = 1 and count(purchase) = 3'), 1);
});

async function rudderRound(prefix, options) {
  const errors = [];
  const client = new RudderNode(sdk.key, {
    dataPlaneUrl: tailor.base, flushAt: 10, flushInterval: 200, retryCount: 0, logLevel: 'error',
    errorHandler: (e) => errors.push(e), ...options,
  });
  const anon = `${prefix}-anon-1`;
  const user = `${prefix}-user-1`;
  // messageId is not in the typings but the SDK keeps one that is given.
  client.track({ anonymousId: anon, event: 'Product Added', messageId: `${prefix}-track-1`,
    properties: { item_id: 'sku-9', price: 7.5 } });
  client.page({ anonymousId: anon, name: 'Cart', messageId: `${prefix}-page-1`,
    properties: { url: 'https://shop.example/cart', path: '/cart' } });
  client.identify({ anonymousId: anon, userId: user, messageId: `${prefix}-identify-1`,
    traits: { plan: 'enterprise' } });
  client.track({ userId: user, event: 'Order Completed', messageId: `${prefix}-track-2`,
    properties: { order_id: `${prefix}-o-1`, revenue: 99 } });
  client.alias({ previousId: `${prefix}-anon-2`, userId: user, messageId: `${prefix}-alias-1` });
  await client.flush();
  await client.flush();
  const describe = (e) => `${e.config?.method} ${e.config?.url} -> ${e.response?.status} ` +
    `${JSON.stringify(e.response?.data)}`;
  assert.deepEqual(errors.map(describe), [], 'every request accepted');

  const ids = [`${prefix}-track-1`, `${prefix}-page-1`, `${prefix}-track-2`];
  const profile = await tailor.waitForProfile(admin.key, user, hasAll(ids));
  assert.deepEqual(exactlyOnce(ids, eventIds(profile)), [], 'each event stored once');
  assert.equal(profile.traits.plan, 'enterprise');
  const cart = profile.events.find((e) => e.id === `${prefix}-track-1`);
  assert.equal(cart.type, 'add_to_cart');
  assert.equal(cart.item_id, 'sku-9');
  // Rudder stamps originalTimestamp, not timestamp: the server must still date it near now.
  assert.ok(Math.abs(Date.parse(cart.time) - Date.now()) < 5 * 60 * 1000, `time ${cart.time}`);
}

test('@rudderstack/rudder-sdk-node (plain JSON body): events arrive once; anonymous merged', async () => {
  await rudderRound('rs', { gzip: false });
});

test('@rudderstack/rudder-sdk-node default (Content-Encoding: gzip): events arrive once', async () => {
  await rudderRound('rsgz', {});
});

// Loads a page with analytics-next, sends track → page → identify → track, and returns what
// the SDK said plus every request the browser made to tailor with its status.
async function ajsRound(pagePath, user) {
  if (!browserParts) browserParts = await launchBrowser();
  const context = await browserParts.newContext();
  const exchanges = [];
  const pending = new Map(); // request → its record, until the answer (or failure) is in
  context.on('request', (req) => {
    if (!req.url().startsWith(tailor.base)) return;
    const record = { method: req.method(), url: req.url().slice(tailor.base.length), status: null, body: '' };
    exchanges.push(record);
    pending.set(req, record);
  });
  context.on('requestfinished', async (req) => {
    const record = pending.get(req);
    if (!record) return;
    const res = await req.response();
    record.body = res ? await res.text().catch(() => '') : '';
    record.status = res ? res.status() : 0;
    pending.delete(req);
  });
  context.on('requestfailed', (req) => {
    const record = pending.get(req);
    if (!record) return;
    record.status = 0;
    record.body = req.failure()?.errorText;
    pending.delete(req);
  });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(pages.origin + pagePath);
  const sent = await page.evaluate(async (userId) => {
    await window.ajsReady;
    const a = window.ajs;
    const track = await a.track('Product Viewed', { item_id: 'sku-7', price: 3 });
    const view = await a.page('Catalog', { section: 'shoes' });
    const identify = await a.identify(userId, { plan: 'startup' });
    const order = await a.track('Order Completed', { order_id: `${userId}-o`, revenue: 12 });
    return {
      ids: [track, view, order].map((ctx) => ctx.event.messageId),
      anonymousId: a.user().anonymousId(),
      failures: [track, view, identify, order].map((ctx) => ctx.failedDelivery()?.reason?.message)
        .filter(Boolean),
    };
  }, user);
  const profile = await tailor.waitForProfile(admin.key, user, hasAll(sent.ids)).catch((e) => {
    throw new Error(`${e.message}\nbrowser → tailor:\n` +
      exchanges.map((x) => `  ${x.method} ${x.url} -> ${x.status} ${x.body}`).join('\n'));
  });
  // Requests without an event of their own (identify) may still be under way.
  for (let waited = 0; pending.size && waited < 5000; waited += 50) await sleep(50);
  await context.close();
  return { sent, profile, exchanges, pageErrors };
}

function checkAjs({ sent, profile, exchanges, pageErrors }) {
  const bad = exchanges.filter((x) => x.status === null || x.status < 200 || x.status >= 400)
    .map((x) => `${x.method} ${x.url} -> ${x.status} ${x.body}`);
  assert.deepEqual(bad, [], 'every request to tailor accepted');
  assert.deepEqual(sent.failures, [], 'analytics-next reports no failed delivery');
  assert.deepEqual(pageErrors, []);
  assert.deepEqual(browserParts.outside, [], 'no request left this machine');
  assert.deepEqual(exactlyOnce(sent.ids, eventIds(profile)), [], 'each event stored once');
  assert.equal(profile.traits.plan, 'startup');
  assert.equal(profile.traits.browser, 'chrome');
  const types = Object.fromEntries(profile.events.map((e) => [e.id, e.type]));
  assert.equal(types[sent.ids[1]], 'page_view');
  assert.equal(types[sent.ids[2]], 'purchase', 'Order Completed is a purchase');
}

test('@segment/analytics-next in Chromium, standard delivery (/v1/t, /v1/p, /v1/i)', async () => {
  const round = await ajsRound('/standard', 'ajs-user-1');
  checkAjs(round);
  const paths = new Set(round.exchanges.filter((x) => x.method === 'POST').map((x) => x.url));
  assert.deepEqual([...paths].sort(), ['/v1/i', '/v1/p', '/v1/t']);
});

test('@segment/analytics-next in Chromium, batching delivery (/v1/b)', async () => {
  const round = await ajsRound('/batching', 'ajs-user-2');
  checkAjs(round);
  const paths = new Set(round.exchanges.filter((x) => x.method === 'POST').map((x) => x.url));
  assert.deepEqual([...paths], ['/v1/b']);
});

test('SIGTERM stops the server with exit code 0', async () => {
  const exit = await tailor.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `exit status; log:\n${tailor.logTail()}`);
});
