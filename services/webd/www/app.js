'use strict';
// The console's core: the API client, a small DOM builder, the router and the
// session. Every view is backed by /api/v1 calls; the session lives in an
// HttpOnly cookie, the CSRF token only in this page's memory. Text from the
// device is always set with textContent, never parsed as HTML.
const DS = { csrf: '', me: null, pages: {}, timers: [], sources: [] };

DS.api = async function (path, body) {
  const opt = body === undefined ? {} : {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(DS.csrf ? { 'X-CSRF-Token': DS.csrf } : {}) },
    body: JSON.stringify(body)
  };
  const r = await fetch('/api/v1/' + path, opt);
  const j = await r.json().catch(() => ({}));
  if (!r.ok || (j.ok === false && j.error)) {
    const e = j.error || { code: 'EHTTP', msg: r.statusText || String(r.status) };
    if (e.code === 'EAUTH' && path !== 'login' && DS.me) { DS.me = null; DS.go('login'); }
    throw Object.assign(new Error(e.msg || e.code), e);
  }
  return j;
};
DS.call = (service, method, args) => DS.api('call', { service, method, args: args || {} });

// el('tag.class#id', {attr: v, on: {click: fn}}, children...)
DS.el = function (spec, attrs, ...kids) {
  const m = /^([a-z0-9]+)((?:[.#][\w-]+)*)$/i.exec(spec);
  const n = document.createElement(m ? m[1] : spec);
  if (m && m[2]) for (const part of m[2].match(/[.#][\w-]+/g)) {
    if (part[0] === '.') n.classList.add(part.slice(1)); else n.id = part.slice(1);
  }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) { kids.unshift(attrs); attrs = null; }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) n.addEventListener(ev, fn);
    else if (k === 'text') n.textContent = v;
    else if (v === true) n.setAttribute(k, '');
    else if (v !== false && v !== null && v !== undefined) n.setAttribute(k, v);
  }
  for (const c of kids.flat()) if (c !== null && c !== undefined && c !== false)
    n.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  return n;
};
const el = DS.el;

DS.table = function (cols, rows, id) {
  return el('table' + (id ? '#' + id : ''),
    el('thead', el('tr', cols.map(c => el('th', c.title || c.key)))),
    el('tbody', rows.map(r => el('tr', cols.map(c => {
      const v = c.render ? c.render(r) : r[c.key];
      return el('td', { 'data-label': c.title || c.key }, v instanceof Node ? v : (v === undefined || v === null ? '' : String(v)));
    })))));
};

// A form: fields [{name, label, type, value, options, hint}] and a submit
// handler; an error naming a field is shown on that field.
DS.form = function (id, fields, submitText, onSubmit) {
  const f = el('form#' + id, { novalidate: true });
  for (const fd of fields) {
    let input;
    if (fd.type === 'select') {
      input = el('select', { name: fd.name, id: id + '-' + fd.name },
        fd.options.map(o => el('option', { value: o, selected: o === fd.value }, o)));
    } else if (fd.type === 'checkbox') {
      input = el('input', { type: 'checkbox', name: fd.name, id: id + '-' + fd.name, checked: !!fd.value });
    } else if (fd.type === 'textarea') {
      input = el('textarea', { name: fd.name, id: id + '-' + fd.name, rows: 6 });
      if (fd.value) input.value = fd.value;
    } else {
      input = el('input', { type: fd.type || 'text', name: fd.name, id: id + '-' + fd.name,
        autocomplete: fd.autocomplete || 'off', placeholder: fd.placeholder || null });
      if (fd.value !== undefined && fd.value !== null) input.value = fd.value;
    }
    f.appendChild(el('label', { for: id + '-' + fd.name }, fd.label || fd.name));
    f.appendChild(el('div.field', input, fd.hint ? el('small', fd.hint) : null, el('span.ferr', { 'data-for': fd.name })));
  }
  const status = el('p.status', { role: 'status' });
  f.appendChild(el('div.actions', el('button', { type: 'submit', id: id + '-submit' }, submitText), status));
  f.addEventListener('submit', async ev => {
    ev.preventDefault();
    DS.clearErrors(f);
    const v = {};
    for (const fd of fields) {
      const i = f.elements[fd.name];
      v[fd.name] = fd.type === 'checkbox' ? i.checked : i.value;
    }
    status.textContent = '…';
    try { const r = await onSubmit(v, f); status.textContent = typeof r === 'string' ? r : 'done'; }
    catch (e) { status.textContent = ''; DS.showError(f, e); }
  });
  return f;
};
DS.clearErrors = function (root) {
  for (const s of root.querySelectorAll('.ferr')) s.textContent = '';
  for (const s of root.querySelectorAll('.invalid')) s.classList.remove('invalid');
  const g = root.querySelector('.error'); if (g) g.remove();
};
// Shows an API error: on the field the service named when the form has it,
// else as a message at the top of ROOT.
DS.showError = function (root, e) {
  const text = (e.code ? e.code + ': ' : '') + (e.message || e.msg || String(e)) + (e.reason ? ' (' + e.reason + ')' : '');
  const slot = e.field && root.querySelector('.ferr[data-for="' + CSS.escape(e.field) + '"]');
  if (slot) {
    slot.textContent = text;
    const input = root.querySelector('[name="' + CSS.escape(e.field) + '"]');
    if (input) { input.classList.add('invalid'); input.focus(); }
    return;
  }
  const old = root.querySelector(':scope > .error'); if (old) old.remove();
  root.prepend(el('p.error', { role: 'alert' }, text + (e.field ? ' [field ' + e.field + ']' : '')));
};
// Any reply as the device gave it: scalars as a key/value table, lists of
// objects as tables, nested maps as their own blocks (what devctl prints).
DS.show = function (obj, id) {
  const box = el('div.show' + (id ? '#' + id : ''));
  const kv = [], rest = [];
  for (const [k, v] of Object.entries(obj || {})) {
    if (Array.isArray(v) && v.length && typeof v[0] === 'object' && v[0] !== null) rest.push([k, v]);
    else if (v && typeof v === 'object' && !Array.isArray(v)) rest.push([k, v]);
    else kv.push({ k, v: Array.isArray(v) ? v.join(', ') : v === true ? 'yes' : v === false ? 'no' : v });
  }
  if (kv.length) box.appendChild(DS.table([{ key: 'k', title: '' }, { key: 'v', title: '' }], kv));
  for (const [k, v] of rest) {
    box.appendChild(el('h3', k));
    if (Array.isArray(v)) {
      const cols = [...new Set(v.flatMap(o => Object.keys(o)))].map(c => ({ key: c, render: o =>
        o[c] !== null && typeof o[c] === 'object' ? JSON.stringify(o[c]) : o[c] }));
      box.appendChild(DS.table(cols, v));
    } else box.appendChild(DS.show(v));
  }
  return box;
};
// key=value words typed as devctl types them: numbers, true/false, text
DS.typed = v => /^-?\d+$/.test(v) ? Number(v) : v === 'true' ? true : v === 'false' ? false : v;
DS.download = function (name, text, type) {
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type: type || 'text/plain' })), download: name }, name);
  document.body.appendChild(a); a.click(); a.remove();
};

DS.button = (text, fn, cls) => el('button' + (cls ? (cls[0] === '#' ? cls : '.' + cls) : ''), { type: 'button', on: { click: fn } }, text);
DS.section = (title, ...kids) => el('section.card', el('h2', title), ...kids);

// Errors of an action that is not a form go into the page's message area.
DS.act = async function (root, fn, okText) {
  try { const r = await fn(); DS.flash(root, okText || 'done'); return r; } catch (e) { DS.showError(root, e); return null; }
};
DS.flash = function (root, text) {
  const old = root.querySelector(':scope > .flash'); if (old) old.remove();
  const p = el('p.flash', { role: 'status' }, text);
  root.prepend(p);
  setTimeout(() => p.remove(), 4000);
};

// ---- router -------------------------------------------------------------
DS.nav = [
  ['dashboard', 'Dashboard'], ['users', 'Users'], ['sessions', 'Online users'], ['functions', 'Functions'],
  ['ports', 'Ports'], ['https', 'HTTPS'], ['filter', 'IP/MAC filter'], ['time', 'Time'], ['logs', 'Logs'],
  ['mail', 'Mail'], ['storage', 'Storage'], ['exposure', 'Exposure'], ['audit', 'Audit'], ['settings', 'Settings']
];
DS.go = function (page) { if (location.hash !== '#/' + page) location.hash = '#/' + page; else DS.route(); };
DS.stopTimers = function () {
  for (const t of DS.timers) clearInterval(t);
  for (const s of DS.sources) s.close();
  DS.timers = []; DS.sources = [];
};
DS.every = (ms, fn) => { DS.timers.push(setInterval(fn, ms)); };

DS.route = async function () {
  DS.stopTimers();
  const page = (location.hash.replace(/^#\/?/, '') || 'dashboard').split('?')[0];
  const main = document.getElementById('main');
  const open = page === 'login' || page === 'init';
  if (!open && !DS.me) {
    try {
      const me = await DS.api('whoami');
      DS.me = me; DS.csrf = me.csrf;
    } catch (e) {
      const st = await DS.api('status').catch(() => ({ initialised: true }));
      return DS.go(st.initialised === false ? 'init' : 'login');
    }
  }
  DS.renderHeader();
  const fn = DS.pages[page] || DS.pages.dashboard;
  const view = el('div.view#view-' + (DS.pages[page] ? page : 'dashboard'));
  main.replaceChildren(view);
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('current', a.dataset.page === page);
  try { await fn(view); } catch (e) { DS.showError(view, e); }
  view.classList.add('ready');
};

DS.renderHeader = function () {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!DS.me) { nav.replaceChildren(); who.replaceChildren(); return; }
  nav.replaceChildren(...DS.nav.map(([p, t]) => el('a', { href: '#/' + p, 'data-page': p }, t)));
  who.replaceChildren(el('span#user', DS.me.user), ' ',
    DS.button('Log out', async () => {
      await DS.api('logout', {}).catch(() => null);
      DS.me = null; DS.csrf = '';
      DS.go('login');
    }, 'link#logout'));
};

window.addEventListener('hashchange', () => DS.route());
document.addEventListener('DOMContentLoaded', () => DS.route());
