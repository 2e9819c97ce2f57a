'use strict';
// The console: every view is backed by /api/v1 calls; the session lives in an
// HttpOnly cookie, the CSRF token only in this page's memory.
let csrf = '';
async function api(path, body) {
  const opt = body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json', ...(csrf ? { 'X-CSRF-Token': csrf } : {}) },
    body: JSON.stringify(body) };
  const r = await fetch('/api/v1/' + path, opt);
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error((j.error && j.error.msg) || r.statusText), j.error || {});
  return j;
}
async function start() {
  const st = document.getElementById('status');
  try {
    const me = await api('whoami');
    csrf = me.csrf;
    document.getElementById('who').textContent = me.user;
    st.textContent = 'logged in as ' + me.user;
  } catch (e) {
    st.textContent = e.code === 'EAUTH' ? 'please log in' : e.message;
  }
}
document.addEventListener('DOMContentLoaded', start);
