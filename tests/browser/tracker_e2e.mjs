// web/tailor.js in headless Chromium against a real `tailor serve`: page view, a marked click,
// identify, flush and a pagehide beacon end up once each in the identified profile; a public
// key refuses other origins; a survey question shown with tailor.ask and answered becomes a
// declared trait and a live segment membership; the server stops cleanly on SIGTERM.
//
//   TAILOR_BIN=/path/to/tailor node --test tracker_e2e.mjs
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';

import { REPO, Tailor, duplicates, exactlyOnce, launchBrowser, startPageServer } from './harness.mjs';

let tailor;
let pages;
let admin;
let site;
let browserParts;
const sentMessages = []; // every message the tracker put on the wire, from the browser's side
const sentKeys = new Set();

function pageHtml(title, body) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>
<script>window.tailor = window.tailor || []; window.tailor.push(['track', 'Stub Called', {early: true}]);</script>
<script src="${tailor.base}/tailor.js" data-write-key="${site.key}" async></script>
</head><body>${body}</body></html>`;
}

before(async () => {
  tailor = await Tailor.create();
  // The page server must exist before the key: the key is bound to the page's origin. Routes
  // are functions so that they read tailor.base and site.key, known only later.
  pages = await startPageServer({
    '/shop': () => pageHtml('Shop',
      '<button id="add" data-tailor-track="Product Added" data-tailor-prop-item_id="sku-42" ' +
      'data-tailor-prop-price="19.5"><span id="label">Add to cart</span></button>'),
    '/thanks': () => pageHtml('Thanks', '<p>thanks</p>'),
    '/survey': () => pageHtml('Survey', '<div id="ask"></div>'),
  });
  admin = await tailor.createKey('admin', 'admin');
  site = await tailor.createKey('site', 'write', { isPublic: true, origin: pages.origin });
  await tailor.start();
});

after(async () => {
  if (browserParts) await browserParts.browser.close();
  if (pages) await pages.close();
  if (tailor && tailor.proc) await tailor.stop();
});

test('GET /tailor.js serves web/tailor.js as JavaScript', async () => {
  const res = await tailor.request('GET', '/tailor.js');
  assert.equal(res.status, 200, res.describe());
  assert.match(res.headers.get('content-type') || '', /javascript/, 'Content-Type of /tailor.js');
  const source = await readFile(path.join(REPO, 'web', 'tailor.js'), 'utf8');
  assert.equal(res.text, source, 'served tailor.js differs from web/tailor.js (stale build?)');
});

test('tracker events reach the identified profile exactly once', async () => {
  browserParts = await launchBrowser();
  const { context, outside } = browserParts;
  context.on('request', (req) => {
    if (req.method() === 'POST' && req.url() === `${tailor.base}/v1/batch`) {
      const body = JSON.parse(req.postData() || '{}');
      sentKeys.add(body.writeKey);
      sentMessages.push(...(body.batch || []));
    }
  });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  await page.goto(`${pages.origin}/shop?utm_source=newsletter&utm_medium=email&utm_campaign=spring`);
  await page.waitForFunction(() => window.tailor && window.tailor.__tailor);
  await page.click('#label'); // the span inside: the closest marked ancestor is the button
  await page.evaluate(() => window.tailor.identify('u-1', { email: 'ada@example.com', plan: 'pro' }));
  await page.evaluate(() => window.tailor.flush());

  const stored = await page.evaluate(() => ({
    cookie: document.cookie, uid: localStorage.getItem('tailor_uid'),
  }));
  assert.match(stored.cookie, /(^|; )tailor_aid=[0-9a-f-]{36}/, 'anonymous id cookie');
  assert.equal(stored.uid, 'u-1', 'user id kept in localStorage');

  // Queued but not flushed: only the pagehide beacon can deliver this one.
  await page.evaluate(() => window.tailor.track('Newsletter Viewed', { issue: 7 }));
  await page.goto(`${pages.origin}/thanks`);
  await page.waitForFunction(() => window.tailor && window.tailor.__tailor);
  await page.evaluate(() => window.tailor.flush());
  await page.close(); // the /thanks page's own messages go out by beacon if any are left
  assert.deepEqual(pageErrors, [], 'no errors in the page');
  assert.deepEqual(outside, [], 'no request left this machine');

  assert.deepEqual([...sentKeys], [site.key], 'batch bodies carry the write key');
  const byType = (type) => sentMessages.filter((m) => m.type === type);
  const tracks = byType('track');
  const pagesSent = byType('page');
  assert.ok(tracks.some((m) => m.event === 'Product Added'), 'click sent as track');
  assert.ok(tracks.some((m) => m.event === 'Stub Called'), 'stub queue replayed');
  assert.equal(pagesSent.length, 2, 'one page view per page load');
  const added = tracks.find((m) => m.event === 'Product Added');
  assert.deepEqual(added.properties, { item_id: 'sku-42', price: 19.5 });
  assert.equal(added.context.campaign.source, 'newsletter');
  assert.equal(added.context.library.name, 'tailor.js');

  // Every track and page message should become exactly one event of u-1. Playwright does not
  // report requests made while a page unloads, so the beacon's message is known only by its type.
  const eventIds = [...tracks, ...pagesSent].map((m) => m.messageId);
  const profile = await tailor.waitForProfile(admin.key, 'u-1', (p) =>
    Array.isArray(p.events) && eventIds.every((id) => p.events.some((e) => e.id === id)) &&
    p.events.some((e) => e.type === 'newsletter_viewed'));

  assert.equal(profile.id, 'u-1');
  assert.equal(profile.traits.plan, 'pro', 'identify traits stored');
  assert.equal(profile.traits.email, 'ada@example.com');
  assert.equal(profile.traits.browser, 'chrome', 'trait enriched from the user agent');
  const types = profile.events.map((e) => e.type);
  assert.ok(types.includes('page_view'), `a page_view event among ${types}`);
  const cart = profile.events.find((e) => e.type === 'add_to_cart');
  assert.ok(cart, `an add_to_cart event among ${types}`);
  assert.equal(cart.item_id, 'sku-42', `add_to_cart item_id in ${JSON.stringify(cart)}`);
  assert.equal(cart.price, 19.5, `add_to_cart price in ${JSON.stringify(cart)}`);
  assert.equal(types.filter((t) => t === 'newsletter_viewed').length, 1, 'the beacon, stored once');
  const seen = profile.events.map((e) => e.id);
  assert.deepEqual(duplicates(seen), [], 'no messageId stored twice');
  assert.deepEqual(exactlyOnce(eventIds, seen), [], 'every sent event stored once');
  if (typeof profile.event_count === 'number') {
    assert.ok(profile.event_count >= eventIds.length, `event_count ${profile.event_count}`);
  }
  // Merged: the anonymous id the tracker used is now one of u-1's ids, and it has no own profile.
  const anonymousId = added.anonymousId;
  assert.ok(added.userId === undefined, 'the click happened before identify');
  if (Array.isArray(profile.aliases)) {
    assert.ok(JSON.stringify(profile.aliases).includes(anonymousId),
      `anonymous id ${anonymousId} among aliases ${JSON.stringify(profile.aliases)}`);
  }
});

test('a public key refuses requests from another origin', async () => {
  const batch = (id) => JSON.stringify({
    batch: [{ type: 'track', event: 'Probe', anonymousId: 'probe-anon', messageId: id,
      timestamp: new Date().toISOString() }],
    writeKey: site.key, sentAt: new Date().toISOString(),
  });
  const evil = await tailor.request('POST', '/v1/batch', {
    headers: { Origin: 'http://evil.example', 'Content-Type': 'text/plain' }, body: batch('evil-1'),
  });
  assert.equal(evil.status, 403, evil.describe());

  // The page's own origin is accepted and told so, or browsers would hide the answer.
  const good = await tailor.request('POST', '/v1/batch', {
    headers: { Origin: pages.origin, 'Content-Type': 'text/plain' }, body: batch('good-1'),
  });
  assert.equal(good.status, 200, good.describe());
  assert.equal(good.headers.get('access-control-allow-origin'), pages.origin,
    'Access-Control-Allow-Origin for the allowed origin');
});

test('tailor.ask shows a survey question and its answer is a declared trait at once', async () => {
  const asAdmin = (method, urlPath, body) => tailor.request(method, urlPath, {
    headers: { Authorization: `Bearer ${admin.key}`, 'Content-Type': 'application/json' },
    body: body && JSON.stringify(body),
  });
  const created = await asAdmin('PUT', '/v1/surveys/golf', {
    title: 'Your game', channels: ['web'],
    questions: [{ id: 'level', text: 'How would you rate your golf?', kind: 'single',
      choices: ['beginner', 'intermediate', 'advanced'], trait: 'golf_level' }],
  });
  assert.equal(created.status, 200, created.describe());
  const segment = await asAdmin('PUT', '/v1/segments/golf_beginners',
    { rule: 'golf_level = "beginner"' });
  assert.ok(segment.status === 200 || segment.status === 201, segment.describe());

  const { context } = browserParts || (browserParts = await launchBrowser());
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(`${pages.origin}/survey`);
  await page.waitForFunction(() => window.tailor && window.tailor.__tailor);
  // Another person on this browser than the earlier test's u-1: a new anonymous id first.
  await page.evaluate(() => window.tailor.reset());
  await page.evaluate(() => window.tailor.identify('golfer-9', { plan: 'free' }));
  await page.evaluate(() => window.tailor.flush()); // linked before the answer comes
  await page.evaluate(() => {
    window.answered = window.tailor.ask('#ask', { survey: 'golf', question: 'level' });
  });
  await page.waitForSelector('#ask form.tailor-survey input[value="beginner"]');
  assert.equal(await page.textContent('#ask .tailor-question'), 'How would you rate your golf?');
  assert.equal(await page.locator('#ask input[type="radio"]').count(), 3, 'one radio per choice');
  // Nothing chosen: the form says so and sends nothing.
  await page.click('#ask .tailor-submit');
  assert.match(await page.textContent('#ask .tailor-error'), /choose/);
  await page.check('#ask input[value="beginner"]');
  await page.click('#ask .tailor-submit');
  const reply = await page.evaluate(() => window.answered);
  const anonymousId = await page.evaluate(() =>
    document.cookie.match(/(?:^|; )tailor_aid=([^;]+)/)[1]);
  assert.deepEqual(reply, { anonymous_id: anonymousId, trait: 'golf_level', value: 'beginner' });
  assert.equal(await page.textContent('#ask .tailor-thanks'), 'Thank you!');
  // A question the survey does not have, or another channel's: nothing shown, null.
  assert.equal(await page.evaluate(() => window.tailor.ask('#ask', { survey: 'golf', question: 'nope' })), null);
  assert.equal(await page.evaluate(() =>
    window.tailor.ask('#ask', { survey: 'golf', question: 'level', channel: 'email' })), null);
  await page.close();
  assert.deepEqual(pageErrors, [], 'no errors in the page');

  // The answer is Jeff's declared trait, he is in the live segment, and the question was shown.
  const profile = await tailor.waitForProfile(admin.key, 'golfer-9',
    (p) => p.traits.golf_level === 'beginner');
  assert.deepEqual(profile.declared_traits, ['golf_level']);
  assert.ok(profile.segments.includes('golf_beginners'), `segments ${profile.segments}`);
  const report = await asAdmin('GET', '/v1/surveys/golf/report');
  assert.equal(report.status, 200, report.describe());
  const all = report.json.questions.find((q) => q.question === 'level' && q.channel === '');
  assert.equal(all.shown, 1, report.describe());
  assert.equal(all.answered, 1, report.describe());
  // The public key may read a question and answer for its visitor, never name a profile or read one.
  const probe = await tailor.request('GET', '/v1/profiles/golfer-9', {
    headers: { Authorization: `Bearer ${site.key}`, Origin: pages.origin },
  });
  assert.equal(probe.status, 403, probe.describe());
  const pinned = await tailor.request('POST', '/v1/surveys/golf/answers', {
    headers: { Origin: pages.origin, 'Content-Type': 'text/plain' },
    body: JSON.stringify({ writeKey: site.key, profile: 'golfer-9', question: 'level',
      answer: 'advanced', channel: 'web' }),
  });
  assert.equal(pinned.status, 403, pinned.describe());
});

test('SIGTERM stops the server with exit code 0', async () => {
  const exit = await tailor.stop();
  assert.deepEqual(exit, { code: 0, signal: null }, `exit status; log:\n${tailor.logTail()}`);
});
