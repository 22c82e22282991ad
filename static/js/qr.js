/* qr.js — QR login, both ends (CSP: no inline script or style; text only through textContent).
 *
 * On /login (#qr-panel): when the "QR code" tab is shown (a click, or /login#qr) it POSTs
 * /api/qr, shows the code with a countdown to its expiry, and polls GET /api/qr/{id}/status
 * every `interval` seconds (never faster; after a 429 it waits Retry-After). Leaving the tab
 * stops the polling; coming back resumes the same code while it is still valid. States
 * (panel data-state): loading → pending → scanned → confirmed (then on to ?next=), or
 * denied / expired / invalid / error, each with a "New code" button.
 *
 * On /m/qr/{id} (#qr-phone, a logged-in phone): POSTs …/scan at load, shows which computer asks
 * (IP, browser, time), then …/confirm or …/deny. The computer's user agent is written by
 * whoever shows the code, so it is only ever shown as text.
 */
(() => {
  'use strict';
  const sk = window.sk;
  if (!sk) return;

  let fmt = null;   /* as seckill.js shows <time data-ms> */
  try {
    fmt = new Intl.DateTimeFormat(undefined, {
      weekday: 'short', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', second: '2-digit'
    });
  } catch (e) { fmt = null; }

  /* Text with one emphasised part, built node by node (never innerHTML). */
  function sayWith(el, before, strong, after) {
    el.textContent = '';
    el.append(before);
    const b = document.createElement('strong');
    b.textContent = strong;
    el.append(b, after);
  }

  /* ================= the computer: /login, QR code tab ================= */
  function pcPart(panel) {
    const tab = document.getElementById('tab-qr');
    const form = document.getElementById('login-form');
    const part = (role) => panel.querySelector('[data-role="' + role + '"]');
    const img = part('img'), spinner = part('spinner');
    const expiry = part('expiry'), clock = part('countdown'), statusEl = part('status');
    const newBtn = panel.querySelector('[data-action="qr-new"]');
    if (!tab || !img || !statusEl || !newBtn) return;

    const next = sk.nextPath(form);

    let gen = 0;          /* bumped for every new code: answers about an older one are dropped */
    let code = null;      /* { id, expiresAt (local ms), interval (ms) } */
    let active = false;   /* the QR tab is shown */
    let final = false;    /* the code reached a final state */
    let timer = 0;
    let lastPoll = 0;
    let cooling = false;  /* POST /api/qr said 429: the New code button waits */

    function state(name, text) {
      panel.setAttribute('data-state', name);
      if (text !== undefined) statusEl.textContent = text;
    }

    function stopClock() {
      if (clock) sk.countdown(clock, 0, null, 0);   /* retarget to the past: it stops */
      if (expiry) expiry.hidden = true;
    }

    function schedule(ms) {
      clearTimeout(timer);
      timer = 0;
      if (active && !final && code) timer = setTimeout(poll, Math.max(0, ms));
    }

    /* A final state: no more polling; offer a new code. */
    function end(name, text) {
      final = true;
      clearTimeout(timer);
      stopClock();
      state(name, text);
      newBtn.hidden = false;
      newBtn.disabled = cooling;
    }

    async function newCode() {
      const my = ++gen;
      clearTimeout(timer);
      code = null;
      final = false;
      stopClock();
      img.hidden = true;
      img.removeAttribute('src');
      spinner.hidden = false;
      newBtn.hidden = true;
      state('loading', 'Getting a code…');

      const res = await sk.api('POST', '/api/qr');
      if (my !== gen) return;
      const d = res.data;
      if (res.status === 200 && d && typeof d.qr_id === 'string' && /^[0-9a-f]+$/.test(d.qr_id)) {
        const ttl = Number(d.expires_in) > 0 ? Number(d.expires_in) : 120;
        code = {
          id: d.qr_id,
          expiresAt: Date.now() + ttl * 1000,
          interval: Math.max(1, Number(d.interval) || 2) * 1000
        };
        panel.setAttribute('data-qr-id', code.id);
        const src = typeof d.image === 'string' && /^\/qr\/[0-9a-f]+\.png$/.test(d.image)
          ? d.image : '/qr/' + code.id + '.png';
        img.src = src;
        img.hidden = false;
        spinner.hidden = true;
        if (clock && expiry) {
          expiry.hidden = false;
          sk.countdown(clock, code.expiresAt, null, 0);
        }
        state('pending', 'Waiting for a scan…');
        lastPoll = Date.now();   /* the first poll one interval after the code was made */
        schedule(code.interval);
        return;
      }
      spinner.hidden = true;
      if (res.status === 429) {
        cooling = true;
        end('error', '');
        sk.cooldown(sk.retryAfter(res), (n) => {
          if (my === gen) statusEl.textContent = 'Too many codes asked for — wait ' + n + ' s.';
        }, () => {
          cooling = false;
          if (my !== gen) return;
          newBtn.disabled = false;
          statusEl.textContent = 'You may ask for a new code now.';
        });
      } else {
        end('error', 'Could not get a code — the server is busy. Please try again.');
      }
    }

    async function poll() {
      timer = 0;
      if (!code || final) return;
      const my = gen, c = code;
      lastPoll = Date.now();
      const res = await sk.api('GET', '/api/qr/' + encodeURIComponent(c.id) + '/status');
      if (my !== gen || final) return;
      const d = res.data;
      if (res.status === 200 && d) {
        if (Number(d.interval) > 0) c.interval = Math.max(1000, Number(d.interval) * 1000);
        switch (d.status) {
          case 'confirmed': return confirmed(d.user);
          case 'denied': return end('denied', 'Denied on the phone.');
          case 'expired': return end('expired', 'This code expired.');
          case 'scanned': {
            const who = d.user && typeof d.user.username === 'string' ? d.user.username : '';
            state('scanned');
            if (who) sayWith(statusEl, 'Scanned by ', who, ' — confirm on your phone');
            else statusEl.textContent = 'Scanned — confirm on your phone';
            break;
          }
          default:
            state('pending', 'Waiting for a scan…');
        }
        return schedule(c.interval);
      }
      if (res.status === 429) return schedule(Math.max(sk.retryAfter(res) * 1000, c.interval));
      if (res.status === 410) return end('expired', 'This code expired.');
      if (res.status === 403 || res.status === 404) return end('invalid', 'This code is no longer valid.');
      /* the network or the server: keep the state shown, try again a little later */
      return schedule(c.interval * 2);
    }

    /* The session cookies came with this answer (once): go on. */
    function confirmed(user) {
      final = true;
      clearTimeout(timer);
      stopClock();
      state('confirmed');
      const who = user && typeof user.username === 'string' ? user.username : '';
      if (who) sayWith(statusEl, 'Logged in as ', who, '');
      else statusEl.textContent = 'Logged in';
      setTimeout(() => window.location.assign(next), 700);
    }

    /* Shown: resume the current code while it is valid, else ask for one (unless a final
       state is on screen — then its New code button decides). */
    function show() {
      if (active) return;
      active = true;
      if (code && final) return;
      if (code && Date.now() < code.expiresAt) return schedule(lastPoll + code.interval - Date.now());
      newCode();
    }

    function hide() {
      active = false;
      clearTimeout(timer);   /* an answer already on its way is still handled */
      timer = 0;
    }

    function setHash(on) {
      if (!window.history || !history.replaceState) return;
      const url = window.location.pathname + window.location.search + (on ? '#qr' : '');
      if (url !== window.location.pathname + window.location.search + window.location.hash) {
        history.replaceState(history.state, '', url);
      }
    }

    document.addEventListener('tabshow', (e) => {
      if (e.target === tab) { setHash(true); show(); } else { setHash(false); hide(); }
    });
    newBtn.addEventListener('click', () => { if (!cooling) newCode(); });
    img.addEventListener('error', () => {
      if (!final && code && img.getAttribute('src')) end('invalid', 'This code is no longer valid.');
    });
    const fromHash = () => {
      if (window.location.hash === '#qr' && tab.getAttribute('aria-selected') !== 'true') tab.click();
    };
    window.addEventListener('hashchange', fromHash);
    fromHash();
  }

  /* ================= the phone: /m/qr/{id} ================= */
  function browserName(ua) {
    const b = /Edg(e|A|iOS)?\//.test(ua) ? 'Edge'
      : /OPR\/|Opera/.test(ua) ? 'Opera'
      : /Firefox\/|FxiOS\//.test(ua) ? 'Firefox'
      : /Chrome\/|Chromium\/|CriOS\//.test(ua) ? 'Chrome'
      : /Safari\//.test(ua) ? 'Safari'
      : /^curl\//i.test(ua) ? 'curl' : '';
    const os = /Windows/.test(ua) ? 'Windows'
      : /iPhone|iPad|iPod/.test(ua) ? 'iOS'
      : /Macintosh|Mac OS X/.test(ua) ? 'macOS'
      : /Android/.test(ua) ? 'Android'
      : /CrOS/.test(ua) ? 'ChromeOS'
      : /Linux|X11/.test(ua) ? 'Linux' : '';
    if (b && os) return b + ' on ' + os;
    return b || (os ? 'A browser on ' + os : 'Unknown browser');
  }

  function ago(ms) {
    const s = Math.round((sk.serverNow() - ms) / 1000);
    if (!isFinite(s) || s < 0) return '';
    if (s < 5) return 'just now';
    if (s < 90) return s + ' s ago';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    return '';
  }

  function phonePart(box) {
    const id = box.getAttribute('data-qr-id') || '';
    const base = '/api/mobile/qr/' + encodeURIComponent(id) + '/';
    const part = (role) => box.querySelector('[data-role="' + role + '"]');
    const msg = part('msg');
    const confirmBtn = box.querySelector('[data-action="confirm"]');
    const denyBtn = box.querySelector('[data-action="deny"]');
    const labels = new Map([[confirmBtn, confirmBtn.textContent], [denyBtn, denyBtn.textContent]]);
    let busy = false;

    const ERRORS = {
      409: 'This code was already used or scanned',
      410: 'This code expired',
      404: 'Unknown code',
      403: 'Another phone scanned this code'
    };

    function view(name) {
      for (const el of box.querySelectorAll('[data-view]')) el.hidden = el.getAttribute('data-view') !== name;
      box.setAttribute('data-state', name);
      say('');
    }

    function say(text) {
      msg.textContent = text;
      msg.hidden = !text;
    }

    function fail(title, note, link) {
      view('error');
      part('error-text').textContent = title;
      if (note) part('error-note').textContent = note;
      if (link) {
        const a = part('error-link');
        a.href = link.href;
        a.textContent = link.text;
      }
    }

    /* Errors both steps share; false when the caller should handle it. */
    function failed(res) {
      const code = res.data && res.data.error;
      if (res.status === 403 && code === 'csrf') {
        fail('Please reload this page', 'The page is out of date.',
          { href: window.location.pathname, text: 'Reload' });
        return true;
      }
      if (ERRORS[res.status]) {
        fail(ERRORS[res.status]);
        return true;
      }
      if (res.status === 401) {
        fail('Please log in again', 'Your session on this phone has ended.',
          { href: '/login?next=' + encodeURIComponent(window.location.pathname), text: 'Log in' });
        return true;
      }
      return false;
    }

    function fill(pc) {
      const ip = typeof pc.ip === 'string' && pc.ip ? pc.ip : 'unknown';
      const ua = typeof pc.user_agent === 'string' ? pc.user_agent : '';
      part('ip').textContent = ip;
      part('ua-name').textContent = browserName(ua);
      const raw = part('ua');
      raw.textContent = ua.length > 300 ? ua.slice(0, 300) + '…' : ua;
      raw.title = ua;
      raw.hidden = !ua;
      const when = part('when');
      const ms = Number(pc.created_at);
      if (isFinite(ms) && ms > 0) {
        const d = new Date(ms);
        const rel = ago(ms);
        when.textContent = (fmt ? fmt.format(d) : d.toLocaleString()) + (rel ? ' (' + rel + ')' : '');
        when.setAttribute('datetime', d.toISOString());
      } else {
        when.textContent = 'unknown';
      }
    }

    async function scan() {
      view('loading');
      const res = await sk.api('POST', base + 'scan');
      if (res.status === 200 && res.data && res.data.pc) {
        fill(res.data.pc);
        view('ask');
        return;
      }
      if (failed(res)) return;
      fail('Busy, please try again', 'The code could not be checked just now.',
        { href: window.location.pathname, text: 'Try again' });
    }

    function setBusy(btn, on, text) {
      busy = on;
      confirmBtn.disabled = on;
      denyBtn.disabled = on;
      btn.textContent = on ? text : labels.get(btn);
      btn.setAttribute('aria-busy', on ? 'true' : 'false');
    }

    async function decide(btn, op, busyText, done) {
      if (busy) return;
      say('');
      setBusy(btn, true, busyText);
      const res = await sk.api('POST', base + op);
      setBusy(btn, false);
      if (res.status === 200) return view(done);
      if (failed(res)) return;
      say(sk.message(res, 'Busy, please try again.'));
    }

    confirmBtn.addEventListener('click', () => decide(confirmBtn, 'confirm', 'Confirming…', 'done'));
    denyBtn.addEventListener('click', () => decide(denyBtn, 'deny', 'Denying…', 'denied'));
    scan();
  }

  function init() {
    const panel = document.getElementById('qr-panel');
    const phone = document.getElementById('qr-phone');
    if (panel) pcPart(panel);
    if (phone) phonePart(phone);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
