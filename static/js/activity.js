/* activity.js — the buy panel of /activity/{id}. The page is cached and shared by everyone, so
 * everything personal (login state, captcha, the user's result) loads here through the API.
 * Flow: [login?] → result → soon (countdown) → buy (captcha → path → seckill) → queued → created.
 */
(() => {
  'use strict';
  const box = document.getElementById('buy');
  const sk = window.sk;
  if (!box || !sk) return;

  const id = box.getAttribute('data-activity-id');
  const startsMs = Number(box.getAttribute('data-starts-ms'));
  const endsMs = Number(box.getAttribute('data-ends-ms'));
  const base = '/api/activities/' + encodeURIComponent(id);
  const product = document.getElementById('product');
  const badge = document.getElementById('status-badge');
  const headerClock = document.getElementById('countdown');
  const part = (role) => box.querySelector('[data-role="' + role + '"]');
  const form = box.querySelector('[data-view="buy"]');
  const answer = form.querySelector('input');
  const buyBtn = form.querySelector('[data-action="buy"]');
  const newBtn = form.querySelector('[data-action="new-captcha"]');
  const img = part('captcha-img');
  const msgEl = part('msg');

  const LABELS = { upcoming: 'Starts soon', active: 'On sale now', sold_out: 'Sold out', ended: 'Ended' };
  const ENDED = 'This sale has ended.';
  const SOLD_OUT = 'Sold out — all units are gone.';
  const BUSY = 'Busy, please try again.';
  const POLL_MS = 1000, POLL_FOR_MS = 120000;

  let status = box.getAttribute('data-status');   /* as rendered; corrected by the clock */
  let view = 'loading';
  let busy = false, cooling = false;
  let captcha = null;      /* {id, until} */
  let path = null;         /* {path, until}: a path still valid may be retried after a 503 */
  let expiryTimer = 0;

  /* ---- view helpers ---- */
  const ui = sk.panel(box, msgEl);
  const { say, hush } = ui;
  function show(name) { view = name; ui.show(name); }

  function closed(text, link) {
    hush();
    part('closed-text').textContent = text;
    const a = part('closed-link');
    a.hidden = !link;
    if (link) { a.href = link.href; a.textContent = link.text; }
    show('closed');
  }

  function setBusy(on) {
    busy = on;
    buyBtn.disabled = newBtn.disabled = busy || cooling;
    buyBtn.textContent = on ? 'Please wait…' : 'Buy now';
    form.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  /* ---- status by the server clock ---- */
  function phase() {
    const now = sk.serverNow();
    if (now < startsMs) return 'upcoming';
    if (now >= endsMs) return 'ended';
    return status === 'sold_out' ? 'sold_out' : 'active';
  }

  function setStatus(s) {
    status = s;
    product.className = product.className.replace(/\bstatus-\S+/, 'status-' + s);
    badge.className = 'badge badge-' + s;
    badge.textContent = LABELS[s] || s;
  }

  function soldOut() {
    setStatus('sold_out');
    const left = document.getElementById('stock-left');
    const bar = document.getElementById('stock-bar');
    if (left) left.textContent = '0';
    if (bar) bar.value = 0;
    closed(SOLD_OUT);
  }

  function opened() {                      /* countdown to start reached zero */
    setStatus(status === 'sold_out' ? 'sold_out' : 'active');
    sk.countdown(headerClock, endsMs, ended);
    /* a little jitter so that every open page does not ask for a captcha in the same ms */
    if (view === 'soon') setTimeout(ready, Math.random() * 400);
  }

  function ended() {
    setStatus('ended');
    clearTimeout(expiryTimer);
    if (!busy && ['loading', 'login', 'soon', 'buy'].includes(view)) closed(ENDED);
  }

  function startClocks() {
    const s = phase();
    setStatus(s);
    if (s === 'upcoming') {
      sk.countdown(headerClock, startsMs, opened);
      sk.countdown(part('opens'), startsMs);
    } else if (s !== 'ended') {
      sk.countdown(headerClock, endsMs, ended);
    }
  }

  /* ---- the panel for a logged-in user without an order ---- */
  function ready() {
    const s = phase();
    if (s === 'upcoming') show('soon');
    else if (s === 'active') { show('buy'); newCaptcha(); }
    else closed(s === 'ended' ? ENDED : SOLD_OUT);
  }

  function needLogin(text) {
    const s = phase();
    if (s === 'ended') return closed(ENDED);
    if (s === 'sold_out') return closed(SOLD_OUT);
    show('login');
    if (text) say(text, 'info');
  }

  /* ---- errors: one human message each ---- */
  function failed(res, step) {
    const code = res.data && res.data.error;
    const again = step !== 'seckill' || !path;   /* a captcha was used up: a new one is needed */
    if (res.status === 401) { path = null; return needLogin('Please log in again to buy.'); }
    if (res.status === 403 && code === 'bad_captcha') return newCaptcha('Wrong code, try the new image.');
    if (res.status === 403 && code === 'bad_path') {
      path = null;
      return newCaptcha('That took too long — type the new code and buy again.');
    }
    if (res.status === 409 && code === 'not_active') {
      path = null;
      const s = phase();
      if (s === 'ended') return closed(ENDED);
      return newCaptcha(s === 'upcoming' ? 'The sale has not opened yet — wait for the countdown.'
        : 'The sale is not open right now — try again in a moment.');
    }
    if (res.status === 404) return closed('This sale no longer exists.', { href: '/', text: 'All flash sales' });
    if (res.status === 429) {
      cooling = true;
      setBusy(false);
      return sk.cooldown(sk.retryAfter(res), (n) => say('Too many tries — wait ' + n + ' s.'), () => {
        cooling = false;
        setBusy(false);
        hush();
        if (again && view === 'buy') newCaptcha();
      });
    }
    if (res.status === 0 || res.status >= 500) {
      if (again && step === 'path') return newCaptcha(BUSY);
      return say(BUSY);
    }
    if (again && step === 'path') return newCaptcha(sk.message(res, 'Something went wrong — please try again.'));
    return say(sk.message(res, 'Something went wrong — please try again.'));
  }

  /* ---- captcha ---- */
  async function newCaptcha(note) {
    if (busy || cooling) return;
    setBusy(true);
    const res = await sk.api('POST', '/api/captcha');
    setBusy(false);
    clearTimeout(expiryTimer);
    if (res.status !== 200 || !res.data || !res.data.image) {
      captcha = null;
      return failed(res, 'captcha');
    }
    const ttl = (Number(res.data.expires_in) || 120) * 1000;
    captcha = { id: res.data.captcha_id, until: Date.now() + ttl - 2000 };
    part('captcha').classList.remove('is-expired');
    expiryTimer = setTimeout(() => part('captcha').classList.add('is-expired'), ttl - 2000);
    img.src = res.data.image;
    answer.value = '';
    if (note) { say(note); answer.focus(); } else hush();
  }

  newBtn.addEventListener('click', () => { hush(); newCaptcha(); answer.focus(); });

  /* ---- buy: captcha answer → path → seckill ---- */
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy || cooling) return;
    hush();
    if (!path || Date.now() > path.until) {
      path = null;
      const text = answer.value.trim();
      if (!captcha) return newCaptcha('Please type the code in the new image.');
      if (Date.now() > captcha.until) return newCaptcha('That code expired — type the new one.');
      if (text.length < 4 || text.length > 6) {
        say('Type the 4 to 6 characters shown in the image.');
        return answer.focus();
      }
      setBusy(true);
      const res = await sk.api('POST', base + '/path', { captcha_id: captcha.id, captcha_answer: text });
      captcha = null;                      /* single use, whatever the answer */
      if (res.status !== 200 || !res.data || !res.data.path) { setBusy(false); return failed(res, 'path'); }
      const ttl = (Number(res.data.expires_in) || 60) * 1000;
      path = { path: String(res.data.path), until: Date.now() + ttl - 2000 };
    } else {
      setBusy(true);
    }
    const res = await sk.api('POST', base + '/seckill/' + encodeURIComponent(path.path));
    setBusy(false);
    if (res.status !== 200 || !res.data) return failed(res, 'seckill');
    path = null;
    outcome(res.data.status);
  });

  async function outcome(s) {
    if (s === 'queued') return queued();
    if (s === 'sold_out') return soldOut();
    if (s === 'duplicate') {
      /* maybe an earlier try went through (e.g. its answer was lost): show that one */
      const res = await sk.api('GET', base + '/result');
      const r = res.status === 200 && res.data ? res.data.status : '';
      if (r === 'queued') return queued();
      if (r === 'created') return created(res.data.order_id);
      return closed('You already have this one.', { href: '/orders', text: 'See my orders' });
    }
    say('Something went wrong — please try again.');
  }

  /* ---- queued → created | failed ---- */
  function queued() {
    hush();
    show('queued');
    const until = Date.now() + POLL_FOR_MS;
    const poll = async () => {
      const res = await sk.api('GET', base + '/result');
      const r = res.status === 200 && res.data ? res.data.status : '';
      if (r === 'created') return created(res.data.order_id);
      if (r === 'failed') {
        return closed('Sorry, your order could not be completed; the unit went back to stock.',
          { href: '/activity/' + encodeURIComponent(id), text: 'Try again' });
      }
      if (res.status === 401) return needLogin('Please log in again to see your order.');
      if (Date.now() > until) {
        return closed('This is taking longer than usual. Your order should appear in My orders shortly.',
          { href: '/orders', text: 'My orders' });
      }
      setTimeout(poll, res.status === 429 ? sk.retryAfter(res) * 1000 : POLL_MS);
    };
    setTimeout(poll, POLL_MS);
  }

  function created(orderId) {
    hush();
    const href = orderId !== undefined && orderId !== null && orderId !== ''
      ? '/orders/' + encodeURIComponent(orderId) : '/orders';
    const link = part('order-link');
    link.href = href;
    link.textContent = href === '/orders' ? 'in My orders' : '#' + orderId;
    part('pay-link').href = href;
    show('created');
  }

  /* ---- start ---- */
  async function start() {
    startClocks();
    if (!sk.cookie('csrf')) return needLogin();
    const res = await sk.api('GET', base + '/result');
    if (res.status === 401) return needLogin();
    const r = res.status === 200 && res.data ? res.data.status : '';
    if (r === 'queued') return queued();
    if (r === 'created') return created(res.data.order_id);
    ready();   /* none, failed (the unit went back: may buy again), or the check failed */
  }

  start();
})();
