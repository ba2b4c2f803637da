// The web app (web/app, served by tailor serve at /) in headless Chromium against a real server
// on demo data: sign in; the builder shows an inline error for a broken rule, then the preview
// size of the fixed rule equals the CLI's count; the segment is saved and its page charts it; a
// customer 360 opens and a test profile is deleted; a read-only key sees no write buttons and a
// write is refused. A screenshot of every page is written to $SCREENSHOT_DIR (default
// build/screenshots; docs/screenshots holds the README's copies).
//
//   TAILOR_BIN=/path/to/tailor node --test web_app_e2e.mjs
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { REPO, Tailor, launchBrowser } from './harness.mjs';

const run = promisify(execFile);
const SHOTS = process.env.SCREENSHOT_DIR || path.join(REPO, 'build', 'screenshots');
// Purchases are not windowed, so the count does not depend on the clock (the CLI and the server
// both evaluate it as of now).
const RULE = 'count(purchase) >= 3 and country in ["US", "GB"]';
const BROKEN = 'count(purchase) >= and country = "US"';
// What the visual builder writes for "within 300 km of Madrid" and "purchases at least twice".
const VISUAL = 'location within 300 km of (40.4, -3.7)\nand count(purchase) >= 2';

let tailor;
let admin;
let reader;
let cliCount;
let cliVisualCount;
let someone;
let parts;

async function cli(...args) {
  const { stdout } = await run(tailor.bin, ['--data-dir', tailor.dataDir, ...args], { timeout: 120000 });
  return stdout;
}

before(async () => {
  tailor = await Tailor.create();
  await cli('demo', '--profiles', '3000');
  await cli('segment', 'create', 'golfers', '--rule', 'interests contains "golf"');
  await cli('segment', 'create', 'big_spenders', '--rule', 'sum(purchase.value) > 500');
  await cli('segment', 'eval');
  await cli('scheme', 'create', 'waves', '--member', 'big_spenders', '--member', 'golfers', '--otherwise');
  cliCount = JSON.parse(await cli('--json', 'segment', 'preview', '--rule', RULE)).size;
  cliVisualCount = JSON.parse(await cli('--json', 'segment', 'preview', '--rule', VISUAL)).size;
  someone = (await cli('segment', 'members', 'golfers')).split('\n')[0].trim();
  admin = await tailor.createKey('admin', 'admin');
  reader = await tailor.createKey('reader', 'read');
  await tailor.start();
  await mkdir(SHOTS, { recursive: true });
  parts = await launchBrowser();
});

after(async () => {
  if (parts) await parts.browser.close();
  if (tailor && tailor.proc) await tailor.stop();
});

async function signIn(page, key) {
  await page.goto(`${tailor.base}/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

test('the app is served from the binary with nothing fetched from outside', async () => {
  const index = await tailor.request('GET', '/');
  assert.equal(index.status, 200, index.describe());
  assert.match(index.headers.get('content-type'), /text\/html/);
  const script = /src="(\/app\/app-[^"]+\.js)"/.exec(index.text);
  assert.ok(script, `no script in ${index.text}`);
  const js = await tailor.request('GET', script[1]);
  assert.equal(js.status, 200, js.describe());
  assert.match(js.headers.get('cache-control'), /immutable/);
  const missing = await tailor.request('GET', '/app/nothing.js');
  assert.equal(missing.status, 404);
});

test('a marketer signs in, builds a segment with the preview, saves it and opens its page', async () => {
  const page = await parts.context.newPage();
  const failures = [];
  page.on('pageerror', (error) => failures.push(error.message));
  await page.goto(`${tailor.base}/`);
  await shot(page, 'sign-in');
  // A wrong key is refused with the server's message.
  await page.getByLabel('API key').fill('tk_wrong_key');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').waitFor();
  await signIn(page, admin.key);
  await page.locator('.chart canvas').first().waitFor();
  assert.match(await page.locator('.stats').innerText(), /3,000/);
  await shot(page, 'overview');
  // The latest changes follow the feed live.
  const arrived = await tailor.request('PUT', '/v1/profiles/overview-golfer', {
    headers: { Authorization: `Bearer ${admin.key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ traits: { interests: ['golf'] } }),
  });
  assert.equal(arrived.status, 200, arrived.describe());
  await page.locator('ul.changes li', { hasText: 'overview-golfer' }).waitFor();

  await page.getByRole('link', { name: 'Segments', exact: true }).click();
  await page.getByRole('link', { name: 'golfers' }).waitFor();
  await shot(page, 'segments');
  await page.getByRole('link', { name: 'New segment' }).click();
  await page.locator('#segment-name').fill('loyal_anglo');
  const editor = page.locator('#segment-rule');
  await editor.click();
  await page.keyboard.type(BROKEN);
  // The server's parser error, inline at its line and column.
  const error = page.getByTestId('preview-error');
  await error.waitFor();
  assert.match(await error.innerText(), /rule 1:20: expected a value/);
  await page.locator('.cm-lintRange-error').first().waitFor();
  // Fixed: the preview's size is the CLI's count.
  await page.keyboard.press('Control+a');
  await page.keyboard.type(RULE);
  await page.getByTestId('preview-size').filter({ hasText: new Intl.NumberFormat('en').format(cliCount) }).waitFor();
  assert.ok(cliCount > 0, 'the rule should match someone in the demo data');
  // Completion offers the schema's traits.
  await page.keyboard.press('End');
  await page.keyboard.type(' and coun');
  await page.locator('.cm-tooltip-autocomplete').getByText('country', { exact: true }).first().waitFor();
  await page.keyboard.press('Escape');
  for (let i = 0; i < ' and coun'.length; i++) await page.keyboard.press('Backspace');
  await page.locator('#segment-objective').selectOption('retain');
  await page.getByRole('checkbox', { name: 'email', exact: true }).check();
  await page.getByRole('checkbox', { name: 'waves', exact: true }).check();
  await shot(page, 'builder');
  await page.getByRole('button', { name: 'Save segment' }).click();

  await page.getByRole('heading', { name: 'loyal_anglo' }).waitFor();
  await page.locator('#size-history ~ .chart canvas, .card:has(#size-history) canvas').first().waitFor();
  await page.locator('.members li').first().waitFor();
  const saved = await tailor.request('GET', '/v1/segments/loyal_anglo',
    { headers: { Authorization: `Bearer ${admin.key}` } });
  assert.equal(saved.json.size, cliCount, saved.describe());
  assert.equal(saved.json.objective, 'retain');
  assert.deepEqual(saved.json.channels, ['email']);
  const schemes = await tailor.request('GET', '/v1/schemes', { headers: { Authorization: `Bearer ${admin.key}` } });
  assert.deepEqual(schemes.json.schemes.find((s) => s.name === 'waves').members,
    ['big_spenders', 'golfers', 'loyal_anglo'], schemes.describe());
  await page.locator('table.heat').waitFor();
  await shot(page, 'segment');

  await page.getByRole('link', { name: 'Schemes' }).click();
  await page.getByText('duplicates avoided').waitFor();
  await shot(page, 'schemes');
  await page.getByRole('link', { name: 'Live' }).click();
  await page.getByRole('status').filter({ hasText: 'live' }).waitFor();
  // A change made now streams in.
  const joined = await tailor.request('PUT', '/v1/profiles/new-golfer', {
    headers: { Authorization: `Bearer ${admin.key}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ traits: { interests: ['golf'] } }),
  });
  assert.equal(joined.status, 200, joined.describe());
  await page.locator('table tr', { hasText: 'new-golfer' }).filter({ hasText: 'entered' }).waitFor();
  await shot(page, 'live');
  await page.getByRole('link', { name: 'Settings' }).click();
  await page.getByRole('heading', { name: 'API keys' }).waitFor();
  await shot(page, 'settings');
  assert.deepEqual(failures, []);
  await page.close();
});

test('the visual builder writes rule text whose preview is the CLI count', async () => {
  const page = await parts.context.newPage();
  await signIn(page, admin.key);
  await page.goto(`${tailor.base}/#/segments/new`);
  const builder = page.locator('details.visual-builder');
  await builder.locator('summary').click();
  await builder.getByLabel('Kind').selectOption('place');
  await builder.getByLabel('Within km').fill('300');
  await builder.getByLabel('Latitude').fill('40.4');
  await builder.getByLabel('Longitude').fill('-3.7');
  await builder.getByRole('button', { name: 'Add to the rule' }).click();
  await builder.getByLabel('Kind').selectOption('count');
  await builder.getByLabel('Event type').selectOption('purchase');
  await builder.getByLabel('Times').fill('2');
  await builder.getByLabel('In the last … days (empty: ever)').fill('');
  await builder.getByRole('button', { name: 'Add to the rule' }).click();
  assert.equal(await page.locator('#segment-rule').innerText(), VISUAL);
  await page.getByTestId('preview-size')
    .filter({ hasText: new RegExp(`^${new Intl.NumberFormat('en').format(cliVisualCount)}$`) }).waitFor();
  assert.ok(cliVisualCount > 0, 'someone in the demo data lives near Madrid and bought twice');
  await page.close();
});

test('a customer 360 opens, and a test profile is deleted with confirmation', async () => {
  const auth = { Authorization: `Bearer ${admin.key}`, 'Content-Type': 'application/json' };
  const put = await tailor.request('PUT', '/v1/profiles/test-forget-me',
    { headers: auth, body: JSON.stringify({ traits: { country: 'FR', age: 33 } }) });
  assert.equal(put.status, 200, put.describe());

  const page = await parts.context.newPage();
  await signIn(page, admin.key);
  await page.goto(`${tailor.base}/#/customers/${encodeURIComponent(someone)}`);
  await page.getByRole('heading', { name: `Customer ${someone}` }).waitFor();
  await page.getByRole('heading', { name: 'Traits' }).waitFor();
  await page.locator('.timeline li').first().waitFor();
  await page.getByRole('link', { name: 'golfers' }).waitFor();
  await shot(page, 'customer');

  await page.goto(`${tailor.base}/#/customers/test-forget-me`);
  await page.getByText('known profile').waitFor();
  await page.getByRole('button', { name: 'Delete this profile' }).click();
  const forGood = page.getByRole('button', { name: 'Delete for good' });
  assert.equal(await forGood.isDisabled(), true, 'deleting needs the id typed');
  await page.getByLabel('the profile id, to confirm').fill('test-forget-me');
  await forGood.click();
  await page.getByRole('heading', { name: 'Customers' }).waitFor();
  const gone = await tailor.request('GET', '/v1/profiles/test-forget-me', { headers: auth });
  assert.equal(gone.status, 404, gone.describe());
  await page.close();
});

test('a read-only key sees no write buttons, and the server refuses its writes', async () => {
  const context = await parts.newContext();
  const page = await context.newPage();
  await signIn(page, reader.key);
  await page.goto(`${tailor.base}/#/segments`);
  await page.getByRole('link', { name: 'golfers' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'New segment' }).count(), 0);
  await page.getByRole('link', { name: 'golfers' }).click();
  await page.getByRole('heading', { name: 'golfers' }).waitFor();
  await page.getByRole('button', { name: 'Export members (CSV)' }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Edit' }).count(), 0);
  assert.equal(await page.getByRole('button', { name: 'Delete' }).count(), 0);
  await page.goto(`${tailor.base}/#/customers/${encodeURIComponent(someone)}`);
  await page.getByRole('heading', { name: 'Traits' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Delete this profile' }).count(), 0);
  // What the page would send, sent anyway: refused.
  const status = await page.evaluate(async (key) => {
    const response = await fetch('/v1/segments/golfers', {
      method: 'DELETE', headers: { Authorization: `Bearer ${key}` },
    });
    return response.status;
  }, reader.key);
  assert.equal(status, 403);
  await context.close();
});
