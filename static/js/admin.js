/* admin.js — keeps /admin live: every 2 s it reads GET /api/admin/stats (through sk.api),
 * fills the [data-k="path.in.the.json"] numbers, rebuilds the sales and queue tables (text
 * only, never HTML from the data) and reloads /admin/chart.png with a cache-buster, swapping
 * the image only once the new one has loaded. It pauses while the tab is hidden, and says so
 * when the numbers are stale (connection lost) or the session ended.
 */
(() => {
  'use strict';
  const root = document.getElementById('admin');
  const sk = window.sk;
  if (!root || !sk) return;

  const PERIOD = 2000;
  const chart = document.getElementById('admin-chart');
  const live = document.getElementById('admin-live');
  const liveText = live && live.querySelector('[data-role="live-text"]');
  const salesBody = document.getElementById('admin-activities');
  const queueBody = document.getElementById('admin-queue-rows');
  const repairBody = document.getElementById('admin-repair-rows');
  let timer = 0, busy = false, stopped = false, loading = null;

  const get = (o, path) => path.split('.').reduce((v, k) => (v == null ? v : v[k]), o);
  const fmt = (v) => (v == null ? '–' : typeof v === 'number' ? v.toLocaleString() : String(v));

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function badge(kind, text, title) {
    const b = el('span', 'badge badge-' + kind, text);
    if (title) b.title = title;
    return b;
  }

  function num(text, extra, field) {
    const td = el('td', 'num' + (extra ? ' ' + extra : ''), text);
    if (field) td.setAttribute('data-f', field);
    return td;
  }

  /* One sale, as templates/admin.html renders it. */
  function saleRow(a) {
    const tr = el('tr', 'check-' + a.check);
    tr.id = 'activity-' + a.id;
    const name = el('td', 't-sale');
    const link = el('a', '', a.title);
    link.href = '/activity/' + encodeURIComponent(a.id);
    name.append(link, ' ', el('span', 't-id', '#' + a.id));
    const status = el('td');
    status.appendChild(badge(a.status, a.status_label));
    const check = el('td');
    const cb = badge('check-' + a.check, a.check_label, a.problems);
    cb.setAttribute('data-f', 'check');
    check.appendChild(cb);
    tr.append(name, status,
      num(a.redis_stock_text, '', 'redis_stock'), num(a.stock_left_text, '', 'stock_left'),
      num(a.stock_total_text, 't-muted', 'stock_total'), num(a.redis_buyers_text, '', 'redis_buyers'),
      num(fmt(get(a, 'orders.unpaid')), 't-first', 'orders.unpaid'),
      num(fmt(get(a, 'orders.paid')), '', 'orders.paid'),
      num(fmt(get(a, 'orders.cancelled')), '', 'orders.cancelled'),
      num(fmt(get(a, 'outbox.pending')), 't-first', 'outbox.pending'),
      num(fmt(get(a, 'outbox.sent')), '', 'outbox.sent'),
      num(fmt(get(a, 'outbox.consumed')), '', 'outbox.consumed'),
      num(fmt(get(a, 'outbox.failed')), '', 'outbox.failed'),
      check);
    return tr;
  }

  function queueRow(q) {
    const tr = el('tr');
    tr.id = 'queue-' + q.role;
    const name = el('td', 't-queue');
    name.append(el('code', '', q.name), el('span', 't-about', q.about));
    const state = el('td');
    const sb = badge('check-' + q.state, q.state_label);
    sb.setAttribute('data-f', 'state');
    state.appendChild(sb);
    tr.append(name, num(q.messages_text, '', 'messages'), num(q.consumers_text, '', 'consumers'),
      state);
    return tr;
  }

  /* The row a table shows when it has none. */
  function emptyRow(text, cols) {
    const tr = el('tr', 't-empty');
    const td = el('td', '', text);
    td.colSpan = cols;
    tr.appendChild(td);
    return tr;
  }

  function repairRow(r) {
    const tr = el('tr');
    const kind = el('td');
    kind.appendChild(el('code', '', r.kind));
    tr.append(el('td', 't-muted', r.when_text), el('td', 't-id', '#' + r.activity_id), kind,
      el('td', '', r.detail));
    return tr;
  }

  function fill(data) {
    for (const e of root.querySelectorAll('[data-k]')) {
      const v = get(data, e.getAttribute('data-k'));
      const t = fmt(v);
      if (e.textContent !== t) e.textContent = t;
    }
    for (const b of root.querySelectorAll('[data-backend]')) {
      const name = b.getAttribute('data-backend');
      const state = get(data, 'backends.' + name) || 'down';
      b.className = 'badge badge-backend-' + state;
      b.textContent = b.textContent.replace(/\S+$/, state);
    }
    if (salesBody && Array.isArray(data.activities)) {
      const rows = data.activities.map(saleRow);
      if (!rows.length) rows.push(emptyRow('No current or recent sales.', 14));
      salesBody.replaceChildren(...rows);
    }
    if (queueBody && Array.isArray(data.queues)) queueBody.replaceChildren(...data.queues.map(queueRow));
    if (repairBody && Array.isArray(data.repairs)) {
      const rows = data.repairs.map(repairRow);
      if (!rows.length) rows.push(emptyRow('Nothing needed repairing.', 4));
      repairBody.replaceChildren(...rows);
    }
  }

  function say(state, text) {
    if (!live) return;
    live.setAttribute('data-state', state);
    if (liveText) liveText.textContent = text;
  }

  /* The new chart, shown once it has loaded (no blank image in between). */
  function reloadChart() {
    if (!chart || loading) return;
    const img = new Image();
    loading = img;
    img.onload = () => { chart.src = img.src; loading = null; };
    img.onerror = () => { loading = null; };
    img.src = '/admin/chart.png?t=' + Date.now();
  }

  async function refresh() {
    timer = 0;
    if (busy || stopped) return;
    busy = true;
    const res = await sk.api('GET', '/api/admin/stats');
    busy = false;
    if (res.status === 200 && res.data) {
      fill(res.data);
      say('live', 'Live · updated ' + new Date().toLocaleTimeString());
      reloadChart();
    } else if (res.status === 401 || res.status === 403) {
      stopped = true;
      say('off', 'Stopped: you are no longer signed in as an administrator. Reload to log in.');
      return;
    } else {
      say('stale', 'Connection lost; these numbers may be old. Retrying…');
    }
    schedule();
  }

  function schedule() {
    if (!timer && !stopped && !document.hidden) timer = setTimeout(refresh, PERIOD);
  }

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      clearTimeout(timer);
      timer = 0;
      if (!stopped) say('paused', 'Paused while the tab is hidden.');
    } else if (!stopped) {
      refresh();
    }
  });
  schedule();
})();
