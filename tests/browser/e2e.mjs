// e2e.mjs — seckill in a real browser (Debian chromium driven by playwright-core), TAP on stdout.
// Started by tests/run-browser.sh against a private stack; plain node, no test framework.
//
//   1. A shopper registers on /register and lands logged in; an activity is made with
//      seckill-admin (opens in a few seconds); /activity/ID counts down, then shows the captcha;
//      the answer is read from Redis, Buy → "Queuing…" → "Order created" → the order → Pay → paid.
//   2. A PC opens /login, QR tab; the code is read off the page and decoded with zbarimg; a
//      "phone" (the mobile API as bob) scans and confirms; the PC shows who scanned, then lands
//      logged in.
//   3. No console error, uncaught exception or CSP violation on any page; a screenshot of each
//      final page is kept in $SECKILL_BROWSER_OUT.
//
// Environment: BASE (http://127.0.0.1:PORT), SECKILL_RUN_DIR, SECKILL_BUILDDIR, SECKILL_REDIS_PORT,
// SECKILL_BROWSER_OUT (screenshots), TAP_COUNT_FILE (the TAP numbering shared with the driver),
// SECKILL_CHROMIUM [/usr/bin/chromium], SECKILL_BROWSER_BUDGET_MS [120000],
// SECKILL_BROWSER_STARTS_IN [3] (seconds until the test sale opens).
// The driver prints the plan; this file prints one "ok"/"not ok" line per step.
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

// playwright-core through require(): unlike import, it honours NODE_PATH (the driver installs
// the module into the build tree when the source tree is read-only, as under make distcheck).
const require = createRequire(import.meta.url);
const { chromium } = require('playwright-core');

const env = process.env;
const BASE = (env.BASE || '').replace(/\/$/, '');
const BUILDDIR = env.SECKILL_BUILDDIR || process.cwd();
const REDIS_PORT = env.SECKILL_REDIS_PORT;
const OUT = env.SECKILL_BROWSER_OUT || path.join(BUILDDIR, 'tests', 'output', 'browser');
const COUNT_FILE = env.TAP_COUNT_FILE || '';
const CHROMIUM = env.SECKILL_CHROMIUM || '/usr/bin/chromium';
const BUDGET_MS = Number(env.SECKILL_BROWSER_BUDGET_MS) || 120000;
const STARTS_IN = Number(env.SECKILL_BROWSER_STARTS_IN) || 3;
const WAIT = 15000;          // the longest any single wait may take
const T0 = Date.now();

if (!BASE || !REDIS_PORT) {
  console.log('Bail out! BASE and SECKILL_REDIS_PORT must be set (run tests/run-browser.sh)');
  process.exit(2);
}
fs.mkdirSync(OUT, { recursive: true });

// ---------------------------------------------------------------- TAP

let count = 0;
try { count = Number(fs.readFileSync(COUNT_FILE, 'utf8').trim()) || 0; } catch { count = 0; }
let failures = 0;
function next() {
  count += 1;
  if (COUNT_FILE) fs.writeFileSync(COUNT_FILE, count + '\n');
  return count;
}
const diag = (...lines) => {
  for (const l of lines) for (const s of String(l).split('\n')) console.log('# ' + s);
};
function pass(desc) { console.log(`ok ${next()} - ${desc}`); }
function fail(desc, ...why) {
  failures += 1;
  console.log(`not ok ${next()} - ${desc}`);
  if (COUNT_FILE) fs.appendFileSync(COUNT_FILE + '.failed', 'x\n');
  diag(...why);
}
function skip(desc, why) { console.log(`ok ${next()} - ${desc} # SKIP ${why}`); }

const secs = () => ((Date.now() - T0) / 1000).toFixed(1) + ' s';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The whole run is bounded: past the budget, the step under way fails (with its page and a
// screenshot), nothing after it runs, the browser closes.
let browser = null;
let overdue = null;          // resolves when the budget is spent
const budget = new Promise((resolve) => { overdue = resolve; });
let timedOut = false;
let stopWhy = '';
function stop(why) { if (!timedOut) { timedOut = true; stopWhy = why; overdue(); } }
const watchdog = setTimeout(() => stop(`the browser run's budget of ${BUDGET_MS / 1000} s is spent (SECKILL_BROWSER_BUDGET_MS)`), BUDGET_MS);
// Interrupted (the driver got TERM or INT): the same, at once.
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => stop('interrupted by ' + sig));
watchdog.unref();

// ---------------------------------------------------------------- helpers

function run(file, args, timeout = 20000) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        err.message += (stderr ? '\n' + stderr.trim() : '') + (stdout ? '\n' + stdout.trim() : '');
        return reject(err);
      }
      resolve(String(stdout));
    });
  });
}
const redisGet = async (key) =>
  (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(REDIS_PORT), '--raw', 'GET', key], 5000)).trim();

async function api(method, p, body, token) {
  const headers = { Accept: 'application/json' };
  if (body) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = 'Bearer ' + token;
  const res = await fetch(BASE + p, {
    method, headers, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(WAIT)
  });
  const text = await res.text();
  let data = null;
  try { data = JSON.parse(text); } catch { data = null; }
  return { status: res.status, data, text };
}

// Every page: console errors, uncaught exceptions and CSP violations are collected.
const problems = [];
const pages = [];
const shots = [];
async function newPage(context, label) {
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.setDefaultNavigationTimeout(WAIT);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${label} ${page.url()}: console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${label} ${page.url()}: uncaught: ${e.message}`));
  page.on('crash', () => problems.push(`${label} ${page.url()}: the page crashed`));
  pages.push({ page, label });
  return page;
}
// Chromium reports CSP violations on the console too; this also catches report-only ones and
// those of workers, as a console error the listener above sees.
const CSP_HOOK = `document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
    ' at ' + (e.sourceFile || '?') + ':' + (e.lineNumber || 0));
});`;

async function shot(page, name) {
  const file = path.join(OUT, name + '.png');
  // Countdowns start as "…" and get their first value within a tick (250 ms): wait for it.
  await page.waitForFunction(() => !Array.from(document.querySelectorAll('.countdown'))
    .some((e) => e.offsetParent && e.textContent.trim() === '…'), null, { timeout: 1500 }).catch(() => {});
  try {
    await page.screenshot({ path: file, fullPage: true, timeout: 10000 });
    shots.push(file);
    return file;
  } catch (e) {
    return `(no screenshot: ${e.message.split('\n')[0]})`;
  }
}

// step(desc, fn): one TAP line. fn may return a string (a diagnostic for the ok line). On a
// throw: not ok, with the page's URL and a screenshot. `needs` skips the step when an earlier
// one it depends on failed.
const done = new Set();
let failShots = 0;
async function step(key, desc, fn, { needs = [], page = null } = {}) {
  if (timedOut) return;    // the run is over: no more lines
  const missing = needs.filter((k) => !done.has(k));
  if (missing.length) return skip(desc, `needs ${missing.join(', ')}`);
  const t = Date.now();
  try {
    const note = await Promise.race([fn(), budget.then(() => { throw new Error(stopWhy); })]);
    pass(desc);
    diag(`${key}: ${((Date.now() - t) / 1000).toFixed(1)} s${note ? ' — ' + note : ''}`);
    done.add(key);
  } catch (e) {
    const why = [String(e && e.message ? e.message : e).split('\n').slice(0, 6).join('\n')];
    const p = typeof page === 'function' ? page() : page;
    if (p && !p.isClosed()) {
      why.push('url: ' + p.url());
      failShots += 1;
      why.push('screenshot: ' + await shot(p, `fail-${String(failShots).padStart(2, '0')}-${key}`));
    }
    fail(desc, ...why);
  }
}

const visible = (page, sel, timeout = WAIT) => page.locator(sel).first().waitFor({ state: 'visible', timeout });

// ---------------------------------------------------------------- the run

const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let shopperCtx, shopper, pcCtx, pc;
const user = 'e2e_' + Date.now().toString(36) + Math.random().toString(36).slice(2, 6);
const password = 'e2e-pass-' + Math.random().toString(36).slice(2, 10);
let activityId = null, captchaId = null, orderHref = null, qrId = null, qrUrl = null, token = null;

async function main() {
  diag(`base ${BASE}, screenshots in ${OUT}`);

  // playwright's launch() gives chromium a new --user-data-dir of its own (under TMPDIR, which
  // the driver points into the run folder) and removes it at close.
  await step('launch', 'chromium starts under playwright-core', async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 30000
    });
    shopperCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    pcCtx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    for (const c of [shopperCtx, pcCtx]) await c.addInitScript(CSP_HOOK);
    shopper = await newPage(shopperCtx, 'shopper');
    pc = await newPage(pcCtx, 'pc');
    return `chromium ${browser.version()}`;
  });

  // ---- 1. the shopper
  await step('register', 'a shopper registers on /register and lands logged in', async () => {
    await shopper.goto(BASE + '/register');
    await shopper.fill('#reg-username', user);
    await shopper.fill('#reg-password', password);
    await shopper.fill('#reg-password2', password);
    await shopper.click('#register-form [type="submit"]');
    await shopper.waitForURL(BASE + '/', { timeout: WAIT });
    const nav = shopper.locator('.nav-user');
    await nav.waitFor({ state: 'visible' });
    const name = (await nav.textContent()).trim();
    if (name !== user) throw new Error(`the nav shows '${name}', not '${user}'`);
    await shot(shopper, '1-registered-home');
    return `as ${user}`;
  }, { needs: ['launch'], page: () => shopper });

  await step('activity', 'seckill-admin creates a sale that opens in a few seconds', async () => {
    const out = await run(path.join(BUILDDIR, 'jobs', 'seckill-admin'), ['activity', 'create',
      '--title', 'E2E flash sale ' + user, '--stock', '3', '--price-cents', '1999',
      '--starts-in', String(STARTS_IN), '--duration', '600']);
    const m = out.trim().match(/^(\d+)$/m);
    if (!m) throw new Error(`no id in the output: ${out.trim()}`);
    activityId = m[1];
    return `activity ${activityId}, opens in ${STARTS_IN} s`;
  }, { needs: ['launch'] });

  await step('countdown', '/activity/ID counts down to the opening', async () => {
    await shopper.goto(BASE + '/activity/' + activityId);
    await visible(shopper, '#buy [data-view="soon"]');
    // Two different readings of the countdown before it reaches zero, the later one smaller.
    const seen = [];
    const until = Date.now() + (STARTS_IN + 2) * 1000;
    while (Date.now() < until) {
      const t = ((await shopper.textContent('#countdown')) || '').trim();
      const m = t.match(/^(\d\d):(\d\d):(\d\d)$/);
      if (m) {
        const s = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
        if (s === 0) break;
        if (!seen.length || seen[seen.length - 1].s !== s) seen.push({ t, s });
        if (seen.length >= 2) break;
      }
      await sleep(100);
    }
    if (seen.length < 2) throw new Error(`no tick seen: ${JSON.stringify(seen.map((x) => x.t))}`);
    if (!(seen[1].s < seen[0].s)) throw new Error(`it went up: ${seen[0].t} → ${seen[1].t}`);
    const btn = await shopper.locator('#buy [data-view="soon"] button').isDisabled();
    if (!btn) throw new Error('the Buy button is enabled before the opening');
    return `${seen[0].t} → ${seen[1].t}`;
  }, { needs: ['register', 'activity'], page: () => shopper });

  await step('captcha', 'the captcha image loads when the sale opens', async () => {
    await visible(shopper, '#buy [data-view="buy"]', (STARTS_IN + 10) * 1000);
    const img = shopper.locator('#buy [data-role="captcha-img"]');
    await shopper.waitForFunction(() => {
      const i = document.querySelector('#buy [data-role="captcha-img"]');
      return i && /\/captcha\/[^/]+\.png$/.test(i.getAttribute('src') || '') && i.complete && i.naturalWidth > 0;
    }, null, { timeout: WAIT });
    const src = await img.getAttribute('src');
    captchaId = src.match(/\/captcha\/([^/]+)\.png$/)[1];
    const w = await img.evaluate((i) => `${i.naturalWidth}x${i.naturalHeight}`);
    const badge = (await shopper.textContent('#status-badge')).trim();
    return `captcha ${captchaId}, ${w} px, badge '${badge}'`;
  }, { needs: ['countdown'], page: () => shopper });

  await step('buy', 'the answer from Redis, Buy: "Queuing…" turns into "Order created"', async () => {
    const answer = await redisGet('captcha:' + captchaId);
    if (!answer) throw new Error(`no captcha:${captchaId} in Redis`);
    await shopper.fill('#captcha-answer', answer);
    await shopper.click('#buy [data-action="buy"]');
    const queued = shopper.locator('#buy [data-view="queued"]');
    await queued.waitFor({ state: 'visible' });
    const qt = (await queued.textContent()).replace(/\s+/g, ' ').trim();
    if (!/Queuing…/.test(qt)) throw new Error(`the queued view says: ${qt}`);
    const created = shopper.locator('#buy [data-view="created"]');
    await created.waitFor({ state: 'visible', timeout: 30000 });
    const ct = (await created.textContent()).replace(/\s+/g, ' ').trim();
    if (!/Order created/.test(ct)) throw new Error(`the created view says: ${ct}`);
    orderHref = await shopper.getAttribute('#buy [data-role="order-link"]', 'href');
    if (!/^\/orders\/\d+$/.test(orderHref || '')) throw new Error(`order link is '${orderHref}'`);
    await shot(shopper, '2-activity-order-created');
    return `answer '${answer}', order link ${orderHref}`;
  }, { needs: ['captcha'], page: () => shopper });

  await step('pay', 'the order link leads to the order; Pay marks it paid', async () => {
    await shopper.click('#buy [data-role="order-link"]');
    await shopper.waitForURL(BASE + orderHref);
    await visible(shopper, '#pay [data-action="pay"]');
    const before = (await shopper.textContent('#order-badge')).trim();
    await shopper.click('#pay [data-action="pay"]');
    await visible(shopper, '#pay [data-view="paid"]');
    await shopper.waitForFunction(() => document.getElementById('order-badge').textContent.trim() === 'Paid');
    const paidAt = (await shopper.textContent('#pay [data-role="paid-at"] time')) || '';
    if (!/\d/.test(paidAt)) throw new Error(`the paid view says when as '${paidAt}'`);
    // The server agrees: the page rendered anew says paid too, with no Pay button.
    await shopper.reload();
    await visible(shopper, '#pay [data-view="paid"]');
    const after = (await shopper.textContent('#order-badge')).trim();
    if (after !== 'Paid') throw new Error(`after a reload the badge says '${after}'`);
    if (await shopper.locator('#pay [data-action="pay"]').count()) throw new Error('a Pay button is still there');
    await shot(shopper, '3-order-paid');
    return `badge '${before}' → '${after}'`;
  }, { needs: ['buy'], page: () => shopper });

  // ---- 2. QR login
  await step('qr-show', 'the PC shows a QR code on /login that zbarimg decodes to /m/qr/<id>', async () => {
    let qrBytes = null;
    pc.on('response', async (r) => {
      if (/\/qr\/[0-9a-f]+\.png$/.test(new URL(r.url()).pathname) && r.status() === 200) {
        try { qrBytes = await r.body(); } catch { /* page moved on */ }
      }
    });
    await pc.goto(BASE + '/login');
    const tab = pc.locator('#tab-qr');
    await tab.waitFor({ state: 'visible' });
    await tab.click();
    await visible(pc, '#qr-panel');
    await pc.waitForFunction(() => {
      const i = document.querySelector('#qr-panel [data-role="img"]');
      return i && !i.hidden && i.complete && i.naturalWidth > 0;
    }, null, { timeout: WAIT });
    qrId = await pc.getAttribute('#qr-panel', 'data-qr-id');
    // What the user sees: the rendered image, read by zbarimg; the PNG as served, if that fails.
    const seen = path.join(OUT, '4-qr-code.png');
    await pc.locator('#qr-panel [data-role="img"]').screenshot({ path: seen, timeout: 10000 });
    let how = 'the image on screen';
    try {
      qrUrl = (await run('zbarimg', ['--raw', '-q', seen], 10000)).trim();
    } catch (e) {
      if (!qrBytes) throw new Error(`zbarimg could not read ${seen}: ${e.message}`);
      const raw = path.join(OUT, '4-qr-code-served.png');
      fs.writeFileSync(raw, qrBytes);
      qrUrl = (await run('zbarimg', ['--raw', '-q', raw], 10000)).trim();
      how = 'the PNG as served (not the screenshot)';
    }
    const m = qrUrl.match(/^https?:\/\/[^/]+\/m\/qr\/([0-9a-f]+)$/);
    if (!m) throw new Error(`decoded '${qrUrl}', not a /m/qr/<id> URL`);
    if (qrId && m[1] !== qrId) throw new Error(`decoded id ${m[1]}, the page says ${qrId}`);
    qrId = m[1];
    const st = (await pc.textContent('#qr-panel [data-role="status"]')).trim();
    return `${qrUrl} from ${how}; status '${st}'`;
  }, { needs: ['launch'], page: () => pc });

  await step('phone-login', 'the phone logs in through the API as bob (Bearer token)', async () => {
    const r = await api('POST', '/api/mobile/login', {
      username: 'bob', password: 'bob-demo-pass', device_id: 'e2e-' + user, device_name: 'E2E phone'
    });
    if (r.status !== 200 || !r.data || !r.data.token) throw new Error(`${r.status} ${r.text.slice(0, 300)}`);
    token = r.data.token;
    return `expires_in ${r.data.expires_in}`;
  }, { needs: ['qr-show'] });

  await step('qr-scan', 'the phone scans: the PC shows who scanned', async () => {
    const r = await api('POST', `/api/mobile/qr/${qrId}/scan`, {}, token);
    if (r.status !== 200 || !r.data || r.data.status !== 'scanned') throw new Error(`${r.status} ${r.text.slice(0, 300)}`);
    const ua = (r.data.pc && r.data.pc.user_agent) || '';
    await pc.waitForFunction(() => {
      const p = document.getElementById('qr-panel');
      return p.getAttribute('data-state') === 'scanned' &&
        /bob/.test(p.querySelector('[data-role="status"]').textContent);
    }, null, { timeout: WAIT });
    const st = (await pc.textContent('#qr-panel [data-role="status"]')).trim();
    await shot(pc, '5-qr-scanned');
    return `'${st}'; the phone sees ${r.data.pc && r.data.pc.ip}, ${ua.slice(0, 60)}`;
  }, { needs: ['phone-login'], page: () => pc });

  await step('qr-confirm', 'the phone confirms: the PC lands logged in as bob', async () => {
    const r = await api('POST', `/api/mobile/qr/${qrId}/confirm`, {}, token);
    if (r.status !== 200 || !r.data || r.data.status !== 'confirmed') throw new Error(`${r.status} ${r.text.slice(0, 300)}`);
    await pc.waitForURL((u) => !/\/login/.test(u.pathname), { timeout: WAIT });
    const nav = pc.locator('.nav-user');
    await nav.waitFor({ state: 'visible' });
    const name = (await nav.textContent()).trim();
    if (name !== 'bob') throw new Error(`the nav shows '${name}'`);
    const me = await pc.evaluate(async () => (await fetch('/api/me', { cache: 'no-store' })).json());
    if (!me.user || me.user.username !== 'bob') throw new Error(`/api/me says ${JSON.stringify(me)}`);
    await shot(pc, '6-qr-logged-in-home');
    return `at ${new URL(pc.url()).pathname}, nav '${name}'`;
  }, { needs: ['qr-scan'], page: () => pc });

  // A visitor whose session ended elsewhere (revoked, expired) still has its cookies: the cached
  // pages' nav asks who is there and gets nobody, with no 401 on the console, and the stale
  // cookies are dropped.
  await step('stale-session', 'a visitor with an ended session sees the logged-out nav, no 401', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await ctx.addInitScript(CSP_HOOK);
    const u = new URL(BASE);
    await ctx.addCookies([
      { name: 'sid', value: 'ended-session-token', domain: u.hostname, path: '/' },
      { name: 'csrf', value: 'ended-session-csrf', domain: u.hostname, path: '/' }]);
    const v = await newPage(ctx, 'stale');
    for (const p of ['/', activityId ? '/activity/' + activityId : '/login']) {
      await v.goto(BASE + p);
      await v.waitForLoadState('networkidle');
    }
    if (await v.locator('.nav-user').count()) throw new Error('the nav shows a user');
    if (!(await v.locator('a[href="/login"]').count())) throw new Error('no login link in the nav');
    const left = (await ctx.cookies()).filter((c) => (c.name === 'sid' || c.name === 'csrf') && c.value);
    if (left.length) throw new Error('cookies kept: ' + left.map((c) => c.name).join(', '));
    return 'nav logged out, cookies dropped';
  }, { needs: ['launch'] });

  // ---- 3. the console
  await step('console', 'no JS error, console error or CSP violation on any page', async () => {
    await sleep(300);   // late messages of the last pages
    if (problems.length) throw new Error(problems.slice(0, 20).join('\n'));
    return `${pages.length} tabs watched`;
  }, { needs: ['launch'] });

  await step('screenshots', 'a screenshot of each final page is kept', async () => {
    const want = ['1-registered-home', '2-activity-order-created', '3-order-paid', '4-qr-code',
      '5-qr-scanned', '6-qr-logged-in-home'];
    const missing = want.filter((n) => !fs.existsSync(path.join(OUT, n + '.png')) ||
      fs.statSync(path.join(OUT, n + '.png')).size === 0);
    if (missing.length) throw new Error('missing: ' + missing.join(', '));
    return OUT;
  }, { needs: ['pay', 'qr-confirm'] });
}

try {
  await main();
} catch (e) {
  fail('e2e.mjs runs to its end', String(e && e.stack ? e.stack : e));
} finally {
  if (browser) await Promise.race([browser.close().catch(() => {}), sleep(10000)]);
  diag(`browser run: ${secs()}, ${failures} failed`);
}
process.exit(failures ? 1 : 0);
