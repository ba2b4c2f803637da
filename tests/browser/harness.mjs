// Shared plumbing for the browser and SDK tests: a tailor server in a temp data dir, API keys made
// with the CLI, a small page server, headless Chromium, and polling the profile API.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '..', '..');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// The tailor binary: $TAILOR_BIN, else the first argument, else build/tailor in the repo.
export function tailorBin() {
  const bin = process.env.TAILOR_BIN || process.argv[2] || path.join(REPO, 'build', 'tailor');
  if (!existsSync(bin)) {
    throw new Error(`tailor binary not found at ${bin}: set TAILOR_BIN=/path/to/tailor`);
  }
  return path.resolve(bin);
}

// A fresh data dir, removed by stop() unless KEEP_DATA is set (for looking at a failure).
export class Tailor {
  static async create() {
    const t = new Tailor();
    t.bin = tailorBin();
    t.root = await mkdtemp(path.join(os.tmpdir(), 'tailor-browser-'));
    t.dataDir = path.join(t.root, 'data');
    t.portFile = path.join(t.root, 'port');
    t.output = '';
    return t;
  }

  // `tailor keys create ... --json` → {id, key}.
  async createKey(name, scope, { isPublic = false, origin } = {}) {
    const args = ['--data-dir', this.dataDir, 'keys', 'create', '--name', name, '--scope', scope];
    if (isPublic) args.push('--public');
    if (origin) args.push('--origin', origin);
    args.push('--json');
    let out;
    try {
      out = await run(this.bin, args, { timeout: 30000 });
    } catch (e) {
      throw new Error(`tailor ${args.join(' ')} failed (exit ${e.code}):\n${e.stdout}${e.stderr}`);
    }
    let key;
    try {
      key = JSON.parse(out.stdout);
    } catch (e) {
      throw new Error(`tailor ${args.join(' ')} printed no JSON:\n${out.stdout}${out.stderr}`);
    }
    if (typeof key.key !== 'string' || !key.key) {
      throw new Error(`tailor keys create: no "key" in ${out.stdout}`);
    }
    return key;
  }

  // Starts `tailor serve` on an ephemeral port; resolves once the port file names the port.
  async start() {
    const args = ['--data-dir', this.dataDir, 'serve', '--listen', '127.0.0.1:0',
      '--port-file', this.portFile];
    this.proc = spawn(this.bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (chunk) => { this.output = (this.output + chunk).slice(-20000); };
    this.proc.stdout.on('data', keep);
    this.proc.stderr.on('data', keep);
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    let exit = null;
    this.exited.then((e) => { exit = e; });
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (exit) {
        throw new Error(`tailor serve exited early (${JSON.stringify(exit)}):\n${this.output}`);
      }
      // Read twice: a port file caught half-written would name the wrong port.
      const text = await readFile(this.portFile, 'utf8').catch(() => '');
      const port = parseInt(text.trim(), 10);
      await sleep(50);
      const again = await readFile(this.portFile, 'utf8').catch(() => '');
      if (port > 0 && /^\d+\s*$/.test(text) && text === again) {
        this.port = port;
        this.base = `http://127.0.0.1:${port}`;
        return this;
      }
      await sleep(50);
    }
    throw new Error(`tailor serve wrote no port to ${this.portFile} within 20 s:\n${this.output}`);
  }

  // SIGTERM, then the exit status ({code, signal}); SIGKILL after 15 s so a hang fails, not blocks.
  async stop() {
    if (!this.proc) return null;
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGTERM');
    const killer = setTimeout(() => this.proc.kill('SIGKILL'), 15000);
    const result = await this.exited;
    clearTimeout(killer);
    this.proc = null;
    if (!process.env.KEEP_DATA) await rm(this.root, { recursive: true, force: true });
    else console.error(`# kept tailor data in ${this.root}`);
    return result;
  }

  logTail(lines = 40) {
    return this.output.split('\n').slice(-lines).join('\n');
  }

  // One HTTP call; the returned record says everything a failure report needs.
  async request(method, urlPath, { headers = {}, body } = {}) {
    const res = await fetch(this.base + urlPath, { method, headers, body });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch (e) { json = undefined; }
    return {
      method, path: urlPath, status: res.status, headers: res.headers, text, json,
      describe() { return `${method} ${urlPath} -> ${res.status} ${text.slice(0, 2000)}`; },
    };
  }

  // Polls GET /v1/profiles/{id} until `ready(profile)` holds; fails with the last answer.
  async waitForProfile(adminKey, id, ready, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
      last = await this.request('GET', `/v1/profiles/${encodeURIComponent(id)}`,
        { headers: { Authorization: `Bearer ${adminKey}` } });
      if (last.status === 200 && last.json && ready(last.json)) return last.json;
      if (Date.now() > deadline) {
        throw new Error(`profile ${id} not as expected within ${timeoutMs} ms; last answer: ` +
          `${last.describe()}\nserver log:\n${this.logTail()}`);
      }
      await sleep(200);
    }
  }
}

// A tiny HTTP server for test pages. `routes` maps a path to HTML, or to a function (req, res)
// that returns HTML or answers `res` itself and returns undefined; `fallback` (same form) gets
// every other path.
export async function startPageServer(routes, fallback) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    const route = routes[url.pathname] ?? fallback;
    const html = typeof route === 'function' ? await route(req, res) : route;
    if (res.headersSent || res.writableEnded) return;
    if (html === undefined) res.writeHead(404).end('not found');
    else res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = server.address().port;
  return {
    server, port, origin: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

// Headless Chromium (Debian's). Each context gets a desktop Chrome user agent, so the server's
// user-agent enrichment sees "Chrome" rather than "HeadlessChrome". Names other than localhost
// do not resolve, so nothing reaches outside; such attempts are recorded in `outside`. (Not
// page.route: with interception on, Playwright answers CORS preflights itself, which would hide
// the server's CORS handling from these tests.)
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1'],
  });
  const probe = await browser.newPage();
  const userAgent = (await probe.evaluate(() => navigator.userAgent)).replace('HeadlessChrome', 'Chrome');
  await probe.close();
  const outside = [];
  async function newContext() {
    const context = await browser.newContext({ userAgent });
    context.on('request', (req) => {
      const { hostname } = new URL(req.url());
      if (!['127.0.0.1', 'localhost', '[::1]'].includes(hostname) && /^https?:/.test(req.url())) {
        outside.push(req.url());
      }
    });
    return context;
  }
  const context = await newContext();
  return { browser, context, outside, newContext, userAgent };
}

// Every element of `ids` occurs exactly once in `seen`; a message naming the misses and repeats.
export function exactlyOnce(ids, seen) {
  const counts = new Map();
  for (const id of seen) counts.set(id, (counts.get(id) || 0) + 1);
  const problems = [];
  for (const id of ids) {
    const n = counts.get(id) || 0;
    if (n !== 1) problems.push(`${id} seen ${n} times`);
  }
  return problems;
}

export function duplicates(seen) {
  const counts = new Map();
  for (const id of seen) counts.set(id, (counts.get(id) || 0) + 1);
  return [...counts].filter(([, n]) => n > 1).map(([id, n]) => `${id} x${n}`);
}
