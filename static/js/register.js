/* register.js — /register: checks the rules, POST /api/register, then POST /api/login, then "/". */
(() => {
  'use strict';
  const form = document.getElementById('register-form');
  const sk = window.sk;
  if (!form || !sk) return;
  const msg = form.querySelector('[data-role="msg"]');
  const button = form.querySelector('[type="submit"]');
  const f = form.elements;
  let busy = false, cooling = false;

  function say(text, field) {
    msg.textContent = text;
    msg.hidden = !text;
    for (const el of form.querySelectorAll('.input')) el.removeAttribute('aria-invalid');
    if (field) { field.setAttribute('aria-invalid', 'true'); field.focus(); }
  }

  function setBusy(on, label) {
    busy = on;
    button.disabled = busy || cooling;
    button.textContent = on ? label : 'Create account';
  }

  /* The same rules as the server: username 3–32 of [A-Za-z0-9_], password at least 8. */
  function check(username, password, repeat) {
    if (username.length < 3 || username.length > 32) return ['The username must be 3 to 32 characters long.', f.username];
    if (!/^[A-Za-z0-9_]+$/.test(username)) return ['The username may only use letters A–Z, digits and _.', f.username];
    if (Array.from(password).length < 8) return ['The password must be at least 8 characters long.', f.password];
    if (password !== repeat) return ['The two passwords do not match.', f.password2];
    return null;
  }

  function wait(res, what) {
    cooling = true;
    setBusy(false);
    sk.cooldown(sk.retryAfter(res), (n) => say('Too many ' + what + ', wait ' + n + ' s.'),
      () => { cooling = false; setBusy(false); say(''); });
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (busy || cooling) return;
    const username = f.username.value.trim();
    const password = f.password.value;
    const bad = check(username, password, f.password2.value);
    if (bad) return say(bad[0], bad[1]);
    say('');
    setBusy(true, 'Creating…');
    const res = await sk.api('POST', '/api/register', { username: username, password: password });
    if (res.status !== 201 && res.status !== 200) {
      setBusy(false);
      if (res.status === 409) return say('That username is taken.', f.username);
      if (res.status === 400) return say(sk.message(res, 'Please check your username and password.'));
      if (res.status === 429) return wait(res, 'attempts');
      if (res.status === 0 || res.status >= 500) return say('Busy, please try again.');
      return say(sk.message(res, 'Something went wrong — please try again.'));
    }
    setBusy(true, 'Logging in…');
    const login = await sk.api('POST', '/api/login', { username: username, password: password });
    if (login.status === 200) { window.location.assign('/'); return; }
    setBusy(false);
    button.disabled = true;   /* the account exists now: do not register it twice */
    msg.textContent = 'Your account is ready, but logging in failed. ';
    const a = document.createElement('a');
    a.href = '/login';
    a.textContent = 'Log in';
    msg.appendChild(a);
    msg.hidden = false;
  });

  form.addEventListener('input', (e) => e.target.removeAttribute('aria-invalid'));
})();
