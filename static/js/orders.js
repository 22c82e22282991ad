/* orders.js — the pay panel of /orders/{id}: a countdown to the payment deadline by the server
 * clock (sk.countdown), and the Pay button, which POSTs /api/orders/{id}/pay through sk.api
 * (with the X-CSRF-Token header) and shows the result without a reload.
 * Views (data-view): pay → paid | closed (deadline passed) | cancelled.
 */
(() => {
  'use strict';
  const box = document.getElementById('pay');
  const sk = window.sk;
  if (!box || !sk) return;

  const id = box.getAttribute('data-order-id');
  const deadline = Number(box.getAttribute('data-deadline-ms'));
  const order = document.getElementById('order');
  const badge = document.getElementById('order-badge');
  const part = (role) => box.querySelector('[data-role="' + role + '"]');
  const btn = box.querySelector('[data-action="pay"]');
  const clock = part('countdown');
  const msgEl = part('msg');
  const label = btn ? btn.textContent : '';
  const BUSY = 'Busy, please try again in a moment — you were not charged.';

  let status = box.getAttribute('data-status');
  let busy = false, expired = false;

  const { show, say, hush } = sk.panel(box, msgEl);

  function setStatus(s, text, closed) {
    status = s;
    order.className = order.className.replace(/\bstatus-\S+/, 'status-' + s);
    badge.className = 'badge badge-' + s + (closed ? ' badge-closed' : '');
    badge.textContent = text;
  }

  function setBusy(on) {
    busy = on;
    btn.disabled = on;
    btn.textContent = on ? 'Paying…' : label;
    box.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  function paid(o) {
    hush();
    setStatus('paid', 'Paid');
    const at = Number(o && o.paid_at);
    const span = part('paid-at');
    if (span && isFinite(at) && at > 0) {
      span.textContent = ' on ';
      span.appendChild(sk.timeEl(at));
    }
    show('paid');
  }

  function closed() {
    hush();
    setStatus('unpaid', 'Window closed', true);
    show('closed');
  }

  function cancelled(text) {
    hush();
    setStatus('cancelled', 'Cancelled');
    part('cancel-text').textContent = text;
    show('cancelled');
  }

  async function pay() {
    if (busy || status !== 'unpaid' || expired) return;
    hush();
    setBusy(true);
    const res = await sk.api('POST', '/api/orders/' + encodeURIComponent(id) + '/pay');
    setBusy(false);
    const o = res.data && res.data.order;
    if (res.status === 200 && o && o.status === 'paid') return paid(o);
    if (res.status === 409) {
      /* order_cancelled: the deadline passed (the window closed), or it was cancelled before */
      if (expired || sk.serverNow() >= deadline) return closed();
      return cancelled('It can no longer be paid. Nothing was charged.');
    }
    if (expired) return closed();
    if (res.status === 401) {
      return say('Please log in again to pay.', 'info',
        { href: '/login?next=' + encodeURIComponent(window.location.pathname), text: 'Log in' });
    }
    if (res.status === 403) return say('Your session changed — reload the page and try again.');
    if (res.status === 404) return say('This order no longer exists.', 'error', { href: '/orders', text: 'My orders' });
    if (res.status === 429) return say('Too many tries — wait ' + sk.retryAfter(res) + ' s and try again.');
    if (res.status === 0 || res.status >= 500) return say(BUSY);
    say(sk.message(res, 'Something went wrong — please try again.'));
  }

  if (status === 'unpaid' && btn) {
    btn.addEventListener('click', pay);
    /* At zero the window is closed; an answer still in flight decides (it may say paid). */
    const atZero = () => { expired = true; if (!busy && status === 'unpaid') closed(); };
    if (isFinite(deadline) && clock) sk.countdown(clock, deadline, atZero);
  }
})();
