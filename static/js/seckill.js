/* seckill.js — tiny helpers, no dependencies. Loaded with `defer` (CSP: script-src 'self').
 *
 * window.sk, for the page scripts (which load after this one):
 *   sk.cookie(name)            a cookie's value, or null
 *   sk.api(method, path, body) → Promise<{status, data, headers}>; JSON in and out, with
 *                              X-CSRF-Token from the `csrf` cookie. Never rejects: a network
 *                              error or a timeout gives status 0 (data null).
 *   sk.message(res, fallback)  the server's human `message`, else fallback
 *   sk.retryAfter(res)         the Retry-After header in whole seconds (at least 1)
 *   sk.cooldown(sec, tick, done)  calls tick(secondsLeft) every second, then done()
 *   sk.serverNow()             the server's clock (body data-server-ms), in epoch ms
 *   sk.countdown(el, targetMs, onZero)  (re)starts a countdown in el by the server clock
 *   sk.timeEl(ms)              a new <time> showing epoch ms as the page shows its times
 *   sk.panel(box, msgEl)       {show(view), say(text, kind, link), hush()} for a box of
 *                              [data-view] elements and its message line
 *   sk.nextPath(form)          where to go after a login (data-next or ?next=, this site only)
 */
(function () {
  'use strict';

  /* ---- <time data-ms="EPOCH_MS"> → the visitor's local date and time ---- */
  let fmt = null;
  try {
    fmt = new Intl.DateTimeFormat(undefined, {
      weekday: 'short', month: 'short', day: 'numeric',
      hour: '2-digit', minute: '2-digit', second: '2-digit'
    });
  } catch (e) { fmt = null; }

  function formatTimes() {
    for (const el of document.querySelectorAll('time[data-ms]')) {
      const ms = Number(el.getAttribute('data-ms'));
      if (!isFinite(ms)) continue;
      const d = new Date(ms);
      el.textContent = fmt ? fmt.format(d) : d.toLocaleString();
      el.title = d.toISOString();
    }
  }

  /* A new <time> for epoch ms, shown as formatTimes shows the server-rendered ones. */
  function timeEl(ms) {
    const t = document.createElement('time');
    const d = new Date(ms);
    t.dateTime = d.toISOString();
    t.textContent = fmt ? fmt.format(d) : d.toLocaleString();
    return t;
  }

  /* ---- where to go after a login: the form's data-next, else ?next=; a path of this site
     only ("/x", never "//x" or "/\\x", not /login or /register again), else "/" ---- */
  function nextPath(form) {
    const v = (form && form.getAttribute('data-next')) ||
      new URLSearchParams(window.location.search).get('next') || '/';
    if (typeof v !== 'string' || v[0] !== '/' || v[1] === '/' || /[\\\u0000-\u001f]/.test(v)) return '/';
    try {
      const u = new URL(v, window.location.origin);
      if (u.origin !== window.location.origin || /^\/(login|register)\b/.test(u.pathname)) return '/';
      return u.pathname + u.search + u.hash;
    } catch (e) {
      return '/';
    }
  }

  /* ---- a panel: views ([data-view], one shown at a time) and a message line ---- */
  function panel(box, msgEl) {
    return {
      show(name) {
        for (const el of box.querySelectorAll('[data-view]')) el.hidden = el.getAttribute('data-view') !== name;
      },
      /* kind: error (default) | info | ok; link: {href, text} after the text */
      say(text, kind, link) {
        msgEl.textContent = text;
        msgEl.className = 'buy-msg msg-' + (kind || 'error');
        if (link) {
          const a = document.createElement('a');
          a.href = link.href;
          a.textContent = link.text;
          msgEl.append(' ', a);
        }
        msgEl.hidden = false;
      },
      hush() { msgEl.hidden = true; msgEl.textContent = ''; }
    };
  }

  /* ---- server clock: offset = server_ms - Date.now(), taken once at load ---- */
  function offsetFrom(serverMs) {
    const s = Number(serverMs);
    return isFinite(s) && s > 0 ? s - Date.now() : 0;
  }
  const bodyOffset = offsetFrom(document.body && document.body.getAttribute('data-server-ms'));
  const serverNow = () => Date.now() + bodyOffset;

  /* ---- countdowns ---- */
  const pad = (n) => (n < 10 ? '0' + n : String(n));

  function human(ms) {
    let s = Math.ceil(ms / 1000);
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const hms = pad(h) + ':' + pad(m) + ':' + pad(s);
    return d > 0 ? d + 'd ' + hms : hms;
  }

  const clocks = [];   /* {el, target, offset, onZero, done} */
  let ticking = false;

  function tick() {
    const t = Date.now();
    for (const c of clocks) {
      if (c.done) continue;
      const left = c.target - (t + c.offset);
      if (left > 0) {
        const txt = human(left);
        if (c.el.textContent !== txt) c.el.textContent = txt;
        c.el.classList.toggle('soon', left < 60000);
      } else {
        c.el.textContent = '00:00:00';
        c.el.classList.remove('soon');
        c.done = true;
        if (c.onZero) c.onZero();
      }
    }
    ticking = clocks.some((c) => !c.done);   /* an onZero may have restarted one */
    if (ticking) setTimeout(tick, 250);
  }

  /* Starts (or retargets) the countdown shown in el; onZero runs once when it reaches zero. */
  function countdown(el, target, onZero, offset) {
    let c = clocks.find((x) => x.el === el);
    if (!c) { c = { el: el }; clocks.push(c); }
    c.target = Number(target);
    c.offset = offset === undefined ? bodyOffset : offset;
    c.onZero = onZero || null;
    c.done = false;
    if (!ticking) { ticking = true; tick(); }
  }

  /* <span class="countdown" data-target-ms data-server-ms>: reloads the page at zero, but only
     when it was still running at load: this keeps a stale page from reloading forever. */
  function startCountdowns() {
    let reloading = false;
    const reload = () => {
      if (reloading) return;
      reloading = true;
      /* a short grace so the server sees the new state too */
      setTimeout(() => window.location.reload(), 400);
    };
    for (const el of document.querySelectorAll('.countdown[data-target-ms]')) {
      const target = Number(el.getAttribute('data-target-ms'));
      if (!isFinite(target)) continue;
      const own = el.getAttribute('data-server-ms');
      const offset = own ? offsetFrom(own) : bodyOffset;
      countdown(el, target, target - (Date.now() + offset) > 0 ? reload : null, offset);
    }
  }

  /* ---- cookies and the JSON API ---- */
  function cookie(name) {
    for (const part of document.cookie ? document.cookie.split(';') : []) {
      const i = part.indexOf('=');
      if (i < 0 || part.slice(0, i).trim() !== name) continue;
      try { return decodeURIComponent(part.slice(i + 1).trim()); } catch (e) { return null; }
    }
    return null;
  }

  async function api(method, path, body) {
    const headers = { 'Accept': 'application/json' };
    const opts = { method: method, headers: headers, credentials: 'same-origin', cache: 'no-store' };
    if (method !== 'GET' && method !== 'HEAD') {
      headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body || {});
    }
    const csrf = cookie('csrf');
    if (csrf) headers['X-CSRF-Token'] = csrf;
    const ctl = window.AbortController ? new AbortController() : null;
    const timer = ctl ? setTimeout(() => ctl.abort(), 15000) : 0;
    if (ctl) opts.signal = ctl.signal;
    try {
      const res = await fetch(path, opts);
      const text = await res.text();
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
      return { status: res.status, data: data, headers: res.headers };
    } catch (e) {
      return { status: 0, data: null, headers: new Headers() };
    } finally {
      clearTimeout(timer);
    }
  }

  function message(res, fallback) {
    const m = res && res.data && res.data.message;
    return typeof m === 'string' && m ? m : fallback;
  }

  function retryAfter(res) {
    const v = res && res.headers ? res.headers.get('Retry-After') : null;
    let s = Number(v);
    if (v && !isFinite(s)) s = (Date.parse(v) - Date.now()) / 1000;   /* an HTTP date */
    return isFinite(s) && s > 1 ? Math.ceil(s) : 1;
  }

  function cooldown(seconds, onTick, onDone) {
    let left = seconds;
    const step = () => {
      if (left <= 0) { if (onDone) onDone(); return; }
      if (onTick) onTick(left);
      left -= 1;
      setTimeout(step, 1000);
    };
    step();
  }

  window.sk = {
    cookie: cookie, api: api, message: message, retryAfter: retryAfter, cooldown: cooldown,
    serverNow: serverNow, countdown: countdown, timeEl: timeEl, panel: panel, nextPath: nextPath
  };

  /* ---- nav: cached pages are rendered logged-out (<ul data-auth="anon">); with a csrf
     cookie, ask /api/me and show the logged-in items instead ---- */
  function navItem(child) {
    const li = document.createElement('li');
    li.appendChild(child);
    return li;
  }

  function navLink(href, text, nav) {
    const a = document.createElement('a');
    a.href = href;
    a.textContent = text;
    a.setAttribute('data-nav', nav);
    return navItem(a);
  }

  async function upgradeNav() {
    const ul = document.querySelector('.nav-links[data-auth="anon"]');
    if (!ul || !cookie('csrf')) return;
    const res = await api('GET', '/api/me?optional=1');
    const user = res.status === 200 && res.data && res.data.user;
    if (!user || !user.username) return;
    for (const a of ul.querySelectorAll('a[href="/login"], a[href="/register"]')) {
      const li = a.closest('li');
      if (li) li.remove();
    }
    ul.appendChild(navLink('/orders', 'My orders', 'orders'));
    if (user.role === 'admin') ul.appendChild(navLink('/admin', 'Admin', 'admin'));
    const name = document.createElement('li');
    name.className = 'nav-user';
    name.title = 'Signed in as ' + user.username;
    name.textContent = user.username;
    ul.appendChild(name);
    const out = document.createElement('button');
    out.type = 'button';
    out.className = 'btn btn-ghost btn-sm';
    out.setAttribute('data-action', 'logout');
    out.textContent = 'Log out';
    ul.appendChild(navItem(out));
    ul.setAttribute('data-auth', 'user');
  }

  /* Any [data-action="logout"] (the nav button, server-rendered or added above). */
  document.addEventListener('click', async (e) => {
    const btn = e.target.closest && e.target.closest('[data-action="logout"]');
    if (!btn) return;
    e.preventDefault();
    if (btn.disabled) return;
    btn.disabled = true;
    const res = await api('POST', '/api/logout');
    if (res.status === 200 || res.status === 401) {
      window.location.assign('/');
      return;
    }
    btn.disabled = false;
    btn.title = 'Could not log out — please try again';
  });

  function init() { formatTimes(); startCountdowns(); upgradeNav(); }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
