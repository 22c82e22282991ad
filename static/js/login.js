/* login.js — /login: the password form (POST /api/login), then back to ?next=; the tab bar. */
(() => {
  'use strict';
  const form = document.getElementById('login-form');
  const sk = window.sk;
  if (!form || !sk) return;
  const msg = form.querySelector('[data-role="msg"]');
  const button = form.querySelector('[type="submit"]');
  let busy = false, cooling = false;

  /* ---- tabs (role=tab / aria-controls); a later issue shows the QR code tab ---- */
  const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
  function select(tab) {
    for (const t of tabs) {
      const on = t === tab;
      t.setAttribute('aria-selected', on ? 'true' : 'false');
      t.tabIndex = on ? 0 : -1;
      const panel = document.getElementById(t.getAttribute('aria-controls'));
      if (panel) panel.hidden = !on;
    }
    tab.dispatchEvent(new CustomEvent('tabshow', { bubbles: true }));
  }
  for (const t of tabs) t.addEventListener('click', () => select(t));

  const next = sk.nextPath(form);

  function say(text, field) {
    msg.textContent = text;
    msg.hidden = !text;
    for (const el of form.querySelectorAll('.input')) el.removeAttribute('aria-invalid');
    if (field) { field.setAttribute('aria-invalid', 'true'); field.focus(); }
  }

  function setBusy(on) {
    busy = on;
    button.disabled = busy || cooling;
    button.textContent = on ? 'Logging in…' : 'Log in';
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy || cooling) return;
    const username = form.elements.username.value.trim();
    const password = form.elements.password.value;
    if (!username) return say('Enter your username.', form.elements.username);
    if (!password) return say('Enter your password.', form.elements.password);
    say('');
    setBusy(true);
    const res = await sk.api('POST', '/api/login', { username: username, password: password });
    if (res.status === 200) { window.location.assign(next); return; }
    setBusy(false);
    if (res.status === 401) {
      say('Wrong username or password.', form.elements.password);
      form.elements.password.select();
    } else if (res.status === 429) {
      cooling = true;
      setBusy(false);
      sk.cooldown(sk.retryAfter(res), (n) => say('Too many attempts, wait ' + n + ' s.'),
        () => { cooling = false; setBusy(false); say(''); });
    } else if (res.status === 400) {
      say(sk.message(res, 'Please check your username and password.'));
    } else if (res.status === 0 || res.status >= 500) {
      say('Busy, please try again.');
    } else {
      say(sk.message(res, 'Something went wrong — please try again.'));
    }
  });
})();
