'use strict';
// The console's pages: each renders into VIEW from API calls and shows the
// error a service returns on the field it names.
(function () {
  const P = DS.pages, el = DS.el;
  const AUTHORITIES = ['system', 'playback', 'monitor', 'maintenance', 'backup', 'security', 'camera', 'network',
    'event', 'storage', 'manual-control', 'system-info', 'account'];

  // live policy feedback while a password is typed (public: first boot too)
  function pwFeedback(input, out, userOf) {
    let t = null;
    input.addEventListener('input', () => {
      clearTimeout(t);
      t = setTimeout(async () => {
        if (!input.value) { out.textContent = ''; out.className = 'pwfb'; return; }
        try {
          const r = await DS.api('password-check', { password: input.value, ...(userOf && userOf() ? { user: userOf() } : {}) });
          out.textContent = r.ok ? 'meets the password policy' : `rule '${r.rule}': ${r.reason}`;
          out.className = 'pwfb ' + (r.ok ? 'good' : 'bad');
        } catch (e) { out.textContent = e.message; out.className = 'pwfb bad'; }
      }, 200);
    });
  }

  // ---- first boot and login -------------------------------------------------------
  P.init = async function (v) {
    v.appendChild(el('h1', 'First start'));
    v.appendChild(el('p', 'Type the one-time setup code shown on the device (devctl init prints where it is), ' +
      'then choose the admin password.'));
    const fb = el('p.pwfb#init-feedback', { 'aria-live': 'polite' });
    const f = DS.form('init', [
      { name: 'setup_code', label: 'Setup code' },
      { name: 'password', label: 'Admin password', type: 'password', autocomplete: 'new-password' },
      { name: 'confirm', label: 'Repeat the password', type: 'password', autocomplete: 'new-password' },
    ], 'Set the admin password', async x => {
      if (x.password !== x.confirm) throw Object.assign(new Error('the two passwords differ'), { field: 'confirm' });
      await DS.api('init', { setup_code: x.setup_code.trim(), password: x.password });
      sessionStorage.setItem('ds-msg', 'The admin password is set: log in.');
      DS.go('login');
    });
    f.insertBefore(fb, f.querySelector('.actions'));
    pwFeedback(f.elements.password, fb, () => 'admin');
    v.appendChild(f);
  };

  P.login = async function (v) {
    DS.me = null; DS.csrf = ''; DS.renderHeader();
    v.appendChild(el('h1', 'Log in'));
    const msg = sessionStorage.getItem('ds-msg');
    if (msg) { v.appendChild(el('p.flash', msg)); sessionStorage.removeItem('ds-msg'); }
    const f = DS.form('login', [
      { name: 'user', label: 'User', autocomplete: 'username' },
      { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
    ], 'Log in', async x => {
      const body = { user: x.user, password: x.password };
      if (f.elements.new_password && f.elements.new_password.value) body.new_password = f.elements.new_password.value;
      try {
        const me = await DS.api('login', body);
        DS.me = me; DS.csrf = me.csrf;
      } catch (e) {
        if (e.code === 'ELOCKED') e.message = 'account locked: ' + e.message;
        if (e.field === 'new_password' && !f.elements.new_password) {
          const np = el('input', { type: 'password', name: 'new_password', id: 'login-new_password', autocomplete: 'new-password' });
          f.insertBefore(el('label', { for: 'login-new_password' }, 'New password (the current one must be changed)'), f.querySelector('.actions'));
          f.insertBefore(el('div.field', np, el('span.ferr', { 'data-for': 'new_password' })), f.querySelector('.actions'));
        }
        throw e;
      }
      DS.go('dashboard');
      return 'logged in';
    });
    v.appendChild(f);
    f.elements.user.focus();
  };

  // ---- dashboard ----------------------------------------------------------------------
  // audit.harden on every running service (the audit itself is webd's
  // /api/v1/audit: the bus library's one aggregation, as devctl audit)
  async function sweep(method, args) {
    const s = await DS.call('bus', 'bus.services');
    const all = s.services.filter(x => x.name !== 'busd' && x.state === 'running');
    const out = await Promise.all(all.map(x => DS.call(x.name, method, args).then(r => ({ s: x.name, r }), e => ({ s: x.name, e }))));
    return out.filter(o => !(o.e && (o.e.code === 'ENOENT' || o.e.code === 'ENOSYS')));
  }
  const auditReport = level => DS.api('audit?level=' + level);
  function perHour(records, hours) {
    const now = Date.now(), buckets = [];
    for (let h = hours - 1; h >= 0; h--) {
      const start = now - (h + 1) * 3600e3;
      buckets.push({ label: new Date(start + 3600e3).toISOString().slice(11, 13) + 'h', start, value: 0 });
    }
    for (const r of records) {
      const b = buckets.find(b => r.ts > b.start && r.ts <= b.start + 3600e3);
      if (b) b.value++;
    }
    return buckets;
  }
  P.dashboard = async function (v) {
    v.appendChild(el('h1', 'Dashboard'));
    const sv = await DS.call('bus', 'bus.services');
    v.appendChild(DS.section('Services', DS.table([
      { key: 'name', title: 'Service' }, { key: 'state', title: 'State', render: r => el('span.state.' + r.state, r.state) },
      { key: 'version', title: 'Version' }, { key: 'pid', title: 'PID' }, { key: 'uptime_s', title: 'Up (s)' }],
      sv.services, 'services')));
    const audit = el('div#audit-summary');
    v.appendChild(DS.section('Audit', audit));
    for (const level of [1, 2, 3]) {
      const r = await auditReport(level);
      const failing = r.items.filter(i => i.result === 'fail');
      const pct = r.score;
      const box = el('div.level#audit-level-' + level, el('h3', `Level ${level}: ${r.passed}/${r.passed + r.failed} (${pct}%)`),
        el('meter', { min: 0, max: 100, value: pct, low: 60, high: 90, optimum: 100 }));
      if (failing.length) box.appendChild(DS.table([{ key: 'service' }, { key: 'id' }, { key: 'title' },
        { key: 'remediation' }], failing));
      audit.appendChild(box);
    }
    const charts = el('div.charts');
    v.appendChild(DS.section('Last 24 hours', charts));
    const q = await DS.call('logd', 'log.query', { category: 'security', text: 'login', since: '24h', limit: 1000 })
      .catch(() => ({ records: [] }));
    const failed = q.records.filter(r => /login failed|refused/.test(r.msg));
    charts.appendChild(Chart.bars('chart-logins', 'Failed or refused logins per hour', perHour(failed, 24), 'logins'));
    const fs = await DS.call('filterd', 'filter.status').catch(() => null);
    if (fs && fs.dropped_per_hour) {
      charts.appendChild(Chart.bars('chart-drops', 'Packets dropped by the filter per hour',
        fs.dropped_per_hour.map(h => ({ label: h.hour.slice(11, 13) + 'h', value: h.packets })), 'packets'));
    } else {
      charts.appendChild(el('p.note', fs ? 'The filter is not enforced here (no drop counters).' : 'filterd is not reachable.'));
    }
  };

  // ---- users, groups, sessions ---------------------------------------------------------------
  P.users = async function (v) {
    v.appendChild(el('h1', 'Users and groups'));
    const [u, g] = await Promise.all([DS.call('authd', 'user.list'), DS.call('authd', 'group.list')]);
    const reload = () => DS.route();
    v.appendChild(DS.section('Users', DS.table([
      { key: 'name', title: 'User' }, { key: 'group', title: 'Group' }, { key: 'enabled', title: 'Enabled' },
      { key: 'locked', title: 'Locked' }, { key: 'sessions', title: 'Sessions' },
      { title: 'Actions', render: r => el('span.actions',
        r.locked === 'no' ? DS.button('Lock', () => DS.act(v, () => DS.call('authd', 'user.lock', { name: r.name })).then(reload))
          : DS.button('Unlock', () => DS.act(v, () => DS.call('authd', 'user.unlock', { name: r.name })).then(reload)),
        DS.button('Delete', () => confirm(`Delete the account ${r.name}?`) &&
          DS.act(v, () => DS.call('authd', 'user.del', { name: r.name })).then(reload), 'danger')) }],
      u.users, 'users')));
    const fb = el('p.pwfb#user-feedback', { 'aria-live': 'polite' });
    const add = DS.form('useradd', [
      { name: 'name', label: 'Name' },
      { name: 'group', label: 'Group', type: 'select', options: g.groups.map(x => x.name), value: 'operator' },
      { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password' },
      { name: 'email', label: 'E-mail (optional)' },
    ], 'Add the user', async x => {
      const a = { name: x.name, group: x.group, password: x.password };
      if (x.email) a.email = x.email;
      await DS.call('authd', 'user.add', a);
      sessionStorage.setItem('ds-msg', `user ${x.name} added`);
      reload();
    });
    add.insertBefore(fb, add.querySelector('.actions'));
    pwFeedback(add.elements.password, fb, () => add.elements.name.value);
    v.appendChild(DS.section('Add a user', add));

    const groups = el('div#groups');
    for (const gr of g.groups) {
      const boxes = AUTHORITIES.map(a => el('label.check', el('input', { type: 'checkbox', name: a, value: a,
        checked: gr.authorities.includes(a) }), a));
      const row = el('form.group', { 'data-group': gr.name }, el('h3', `${gr.name}${gr.builtin ? ' (built-in)' : ''} — ${gr.members} member(s)`),
        el('div.checks', boxes),
        el('div.actions', DS.button('Save', () => DS.act(row, () => DS.call('authd', 'group.set', { name: gr.name,
          authorities: boxes.map(b => b.firstChild).filter(i => i.checked).map(i => i.value) }), 'saved')),
        gr.builtin ? null : DS.button('Delete', () => confirm(`Delete the group ${gr.name}?`) &&
          DS.act(v, () => DS.call('authd', 'group.del', { name: gr.name })).then(reload), 'danger')));
      groups.appendChild(row);
    }
    v.appendChild(DS.section('Groups and their authorities', groups));
    const ng = DS.form('groupadd', [{ name: 'name', label: 'New group' }], 'Add the group', async x => {
      await DS.call('authd', 'group.add', { name: x.name, authorities: ['monitor'] });
      reload();
    });
    v.appendChild(DS.section('Add a group', ng));
    const m = sessionStorage.getItem('ds-msg');
    if (m) { DS.flash(v, m); sessionStorage.removeItem('ds-msg'); }
  };

  P.sessions = async function (v) {
    v.appendChild(el('h1', 'Online users'));
    const s = await DS.call('authd', 'session.list');
    v.appendChild(DS.section('Sessions', DS.table([
      { key: 'user', title: 'User' }, { key: 'group', title: 'Group' }, { key: 'source', title: 'From' },
      { key: 'client', title: 'Client' }, { key: 'login', title: 'Since' }, { key: 'last_activity', title: 'Last activity' },
      { title: '', render: r => r.current ? el('em', 'this session')
        : DS.button('Kick', () => DS.act(v, () => DS.call('authd', 'session.kick', { sid: r.sid })).then(() => DS.route()), 'danger') }],
      s.sessions, 'sessions')));
  };

  // ---- functions, ports, HTTPS ---------------------------------------------------------------
  P.functions = async function (v) {
    v.appendChild(el('h1', 'Functions'));
    v.appendChild(el('p', 'Turn off what the site does not use: every function off is one way in less.'));
    const fl = await DS.call('netcfgd', 'function.list');
    v.appendChild(DS.section('Functions', DS.table([
      { title: 'On', render: f => {
        const i = el('input.switch', { type: 'checkbox', id: 'fn-' + f.name, checked: f.enabled, 'aria-label': f.title });
        i.addEventListener('change', async () => {
          const r = await DS.act(v, () => DS.call('netcfgd', i.checked ? 'function.enable' : 'function.disable', { name: f.name }),
            `${f.title} ${i.checked ? 'enabled' : 'disabled'}`);
          if (!r) i.checked = !i.checked;
        });
        return i;
      } },
      { key: 'title', title: 'Function' }, { key: 'risk', title: 'Risk' },
      { title: 'Behind it', render: f => f.kind === 'flag' ? 'setting' : `${f.kind} ${f.backend}` },
      { key: 'off_level', title: 'Off at level' }, { key: 'factory_default', title: 'Factory' }],
      fl.functions, 'functions')));
  };

  P.ports = async function (v) {
    v.appendChild(el('h1', 'Ports'));
    v.appendChild(el('p', 'Custom ports keep scanners of the default ones away; two services cannot share a port.'));
    const ps = await DS.call('netcfgd', 'port.show');
    const f = DS.form('ports', [
      ...ps.ports.map(p => ({ name: p.name, label: `${p.title} (${p.proto})`, type: 'number', value: p.port,
        hint: `range ${p.range}, default ${p.default}` })),
      { name: 'max_connections', label: 'Maximum connections (0: no limit)', type: 'number', value: ps.max_connections },
    ], 'Save the ports', async x => {
      const a = {};
      for (const p of ps.ports) if (Number(x[p.name]) !== p.port) a[p.name] = Number(x[p.name]);
      if (Number(x.max_connections) !== ps.max_connections) a.max_connections = Number(x.max_connections);
      if (!Object.keys(a).length) return 'nothing changed';
      await DS.call('netcfgd', 'port.set', a);
      Object.assign(ps, await DS.call('netcfgd', 'port.show'));
      return 'saved';
    });
    v.appendChild(DS.section('Service ports', f));
  };

  P.https = async function (v) {
    v.appendChild(el('h1', 'HTTPS'));
    const h = await DS.call('netcfgd', 'https.show');
    v.appendChild(DS.section('Settings', DS.form('https', [
      { name: 'redirect', label: 'Redirect HTTP to HTTPS', type: 'checkbox', value: h.redirect },
      { name: 'tls_min', label: 'Lowest TLS version', type: 'select', options: ['1.2', '1.3'], value: h.tls_min },
    ], 'Save', async x => { await DS.call('netcfgd', 'https.set', { redirect: x.redirect, tls_min: x.tls_min }); return 'saved'; })));
    const c = h.certificate || {};
    v.appendChild(DS.section('Server certificate', DS.table([{ key: 'k', title: '' }, { key: 'v', title: '' }], [
      { k: 'Subject', v: c.subject }, { k: 'Issuer', v: c.issuer }, { k: 'Names', v: (c.san || []).join(', ') },
      { k: 'Valid', v: `${c.not_before} — ${c.not_after}${c.expired ? ' (EXPIRED)' : ''}` },
      { k: 'SHA-256', v: c.fingerprint_sha256 }], 'cert'),
    el('div.actions',
      DS.button('Create a new certificate', () => confirm('Create a new server certificate?') &&
        DS.act(v, () => DS.call('netcfgd', 'cert.create', {}), 'certificate created').then(() => DS.route())),
      DS.button('Download the root certificate', async () => {
        const r = await DS.act(v, () => DS.call('netcfgd', 'cert.export_root'), 'root certificate ready');
        if (!r) return;
        const a = el('a#ca-download', { href: URL.createObjectURL(new Blob([r.pem], { type: 'application/x-pem-file' })),
          download: 'devsec-root-ca.pem' }, 'devsec-root-ca.pem');
        v.querySelector('#ca-slot').replaceChildren('Install it in the browser or the system as a trusted root: ', a);
        a.click();
      })),
    el('p#ca-slot')));
    v.appendChild(DS.section('Import a certificate', DS.form('certimport', [
      { name: 'cert', label: 'Certificate (PEM)', type: 'textarea' },
      { name: 'key', label: 'Private key (PEM, unencrypted)', type: 'textarea' },
      { name: 'chain', label: 'Issuing CA chain (PEM, optional)', type: 'textarea' },
    ], 'Import', async x => {
      const a = { cert: x.cert, key: x.key };
      if (x.chain) a.chain = x.chain;
      await DS.call('netcfgd', 'cert.import', a);
      return 'imported';
    })));
  };

  // ---- filter ---------------------------------------------------------------------------------------
  P.filter = async function (v) {
    v.appendChild(el('h1', 'IP/MAC filter'));
    const s = await DS.call('filterd', 'filter.show');
    const reload = () => DS.route();
    const mode = s.pending ? s.candidate_mode : s.mode;
    const staged = s.pending ? s.candidate_entries : s.entries;
    v.appendChild(el('p#filter-state', `Running: mode ${s.mode}, ${s.count} entr${s.count === 1 ? 'y' : 'ies'}. ` +
      (s.pending ? `Staged, not applied yet: mode ${s.candidate_mode}, ${s.candidate_count} entr${s.candidate_count === 1 ? 'y' : 'ies'}.`
        : 'Nothing staged.') + (s.enforced ? '' : ' (rules rendered, not enforced here)')));
    v.appendChild(DS.section('Mode', DS.form('filtermode', [
      { name: 'mode', label: 'Mode', type: 'select', options: ['off', 'allow', 'deny'], value: mode,
        hint: 'allow: only the listed sources reach the service ports; deny: the listed sources are dropped' }],
    'Stage the mode', async x => { await DS.call('filterd', 'filter.mode', { mode: x.mode }); reload(); })));
    const removed = s.pending ? s.entries.filter(e => !staged.includes(e)) : [];
    v.appendChild(DS.section(s.pending ? 'Entries (as staged)' : 'Entries', DS.table([{ key: 'e', title: 'Entry' },
      { key: 'st', title: '' },
      { title: '', render: r => r.st === 'to be removed' ? ''
        : DS.button('Remove', () => DS.act(v, () => DS.call('filterd', 'filter.del', { entries: [r.e] })).then(reload)) }],
      [...staged.map(e => ({ e, st: s.pending && !s.entries.includes(e) ? 'staged' : '' })),
        ...removed.map(e => ({ e, st: 'to be removed' }))], 'entries'),
    DS.form('filteradd', [{ name: 'entries', label: 'Add (IP, CIDR, range a-b or MAC; several separated by spaces)' }],
      'Stage', async x => {
        await DS.call('filterd', 'filter.add', { entries: x.entries.split(/[\s,]+/).filter(Boolean) });
        reload();
      })));
    const cd = el('p#confirm-state');
    const apply = el('div.actions',
      DS.button('Apply (confirm within 60 s)', async () => {
        const r = await DS.act(v, () => DS.call('filterd', 'filter.apply', { confirm_within: 60 }), 'applied: confirm it');
        if (r) countdown();
      }, 'primary#filter-apply'),
      DS.button('Discard staged changes', () => DS.act(v, () => DS.call('filterd', 'filter.discard')).then(reload)));
    const confirmBtn = DS.button('Confirm: keep the new filter', async () => {
      const r = await DS.act(v, () => DS.call('filterd', 'filter.confirm'), 'filter confirmed');
      if (r) { DS.stopTimers(); cd.textContent = 'confirmed'; confirmBtn.hidden = true; }
    }, 'primary#filter-confirm');
    confirmBtn.hidden = true;
    v.appendChild(DS.section('Apply', el('p', 'An apply that is not confirmed in time is rolled back, so a wrong list cannot lock you out.'),
      apply, cd, confirmBtn));
    async function countdown() {
      const tick = async () => {
        const st = await DS.call('filterd', 'filter.show').catch(() => null);
        if (!st) return;
        if (st.confirm_pending) {
          cd.textContent = `Rolled back in ${st.confirm_left_s} s unless confirmed.`;
          confirmBtn.hidden = false;
        } else {
          DS.stopTimers();
          confirmBtn.hidden = true;
          cd.textContent = 'No confirmation pending (confirmed or rolled back).';
        }
      };
      await tick();
      DS.every(1000, tick);
    }
    if (s.confirm_pending) countdown();
  };

  // ---- time ---------------------------------------------------------------------------------------------
  // Samples of the offset and each source's delay, kept by this browser for
  // the last 6 hours (timed reports the current values).
  function timeSamples(st) {
    const key = 'ds-time-samples', keep = 6 * 3600e3, now = Date.now();
    let s = [];
    try { s = JSON.parse(localStorage.getItem(key) || '[]'); } catch (e) { s = []; }
    s.push({ t: now, off: st.offset_ms, src: (st.sources || []).map(x => [x.server || x.address, x.delay_ms]) });
    s = s.filter(x => now - x.t < keep).slice(-2000);
    localStorage.setItem(key, JSON.stringify(s));
    return s;
  }
  P.time = async function (v) {
    v.appendChild(el('h1', 'Time'));
    const st = await DS.call('timed', 'ntp.status');
    const state = el('p#time-state');
    const srcBox = el('div#sources');
    const chartBox = el('div.charts');
    const show = s => {
      state.textContent = `${s.time} ${s.zone} — ${s.sync_state}${s.synchronised ? ', synchronised' : ''}, ` +
        `offset ${s.offset_ms} ms, ${s.survivors} of ${(s.sources || []).length} source(s) selected (needs ${s.minsources})`;
      srcBox.replaceChildren(DS.table([{ key: 'server' }, { key: 'address' }, { key: 'state' }, { key: 'stratum' },
        { key: 'reach' }, { key: 'offset_ms', title: 'offset ms' }, { key: 'delay_ms', title: 'delay ms' },
        { key: 'jitter_ms', title: 'jitter ms' }, { key: 'poll_s', title: 'poll s' }], s.sources || [], 'sources-table'));
      const samples = timeSamples(s);
      const names = [...new Set(samples.flatMap(x => x.src.map(y => y[0])))];
      chartBox.replaceChildren(
        Chart.lines('chart-offset', 'Offset', [{ name: 'offset', points: samples.map(x => [x.t, x.off]) }], 'ms'),
        Chart.lines('chart-delay', 'Delay per source', names.map(n => ({ name: n,
          points: samples.flatMap(x => x.src.filter(y => y[0] === n).map(y => [x.t, y[1]])) })), 'ms'));
    };
    v.appendChild(DS.section('Clock', state, el('div.actions',
      DS.button('Synchronise now', () => DS.act(v, () => DS.call('timed', 'ntp.sync'), 'sync requested')))));
    v.appendChild(DS.section('NTP', DS.form('ntp', [
      { name: 'enabled', label: 'NTP on', type: 'checkbox', value: st.ntp_enabled },
      { name: 'servers', label: 'Servers (host[:port], separated by spaces, at most 8)',
        value: (st.sources || []).map(x => x.server).join(' ') },
      { name: 'zone', label: 'Time zone', value: st.zone },
    ], 'Save', async x => {
      if (x.enabled !== st.ntp_enabled) await DS.call('timed', 'ntp.enable', { enabled: x.enabled });
      const servers = x.servers.split(/[\s,]+/).filter(Boolean);
      await DS.call('timed', 'ntp.servers', { servers });
      if (x.zone !== st.zone) await DS.call('timed', 'time.zone', { zone: x.zone });
      return 'saved';
    }), srcBox));
    v.appendChild(DS.section('Last hours (sampled while this console is open)', chartBox));
    show(st);
    DS.every(10000, async () => { const s = await DS.call('timed', 'ntp.status').catch(() => null); if (s) show(s); });
  };

  // ---- logs -------------------------------------------------------------------------------------------------
  const LOG_COLS = [{ key: 'time', title: 'Time' }, { key: 'category', title: 'Category' }, { key: 'level', title: 'Level' },
    { key: 'service', title: 'Service' }, { key: 'user', title: 'User' }, { key: 'msg', title: 'Message' }];
  P.logs = async function (v) {
    v.appendChild(el('h1', 'Logs'));
    const res = el('div#log-results');
    const q = DS.form('logq', [
      { name: 'category', label: 'Category', type: 'select', options: ['', 'security', 'system', 'operation', 'config'], value: 'security' },
      { name: 'since', label: 'Since (e.g. 1h, 2d, or a time)', value: '24h' },
      { name: 'text', label: 'Text' }, { name: 'user', label: 'User' }, { name: 'service', label: 'Service' },
      { name: 'limit', label: 'At most', type: 'number', value: 100 },
    ], 'Search', async x => {
      const a = { limit: Number(x.limit) || 100 };
      for (const k of ['category', 'since', 'text', 'user', 'service']) if (x[k]) a[k] = x[k];
      const r = await DS.call('logd', 'log.query', a);
      res.replaceChildren(DS.table(LOG_COLS, r.records, 'log-table'));
      return `${r.records.length} record(s)`;
    });
    v.appendChild(DS.section('Search', q, res));
    const live = el('tbody#live-rows');
    const toggle = el('input#live-toggle', { type: 'checkbox' });
    const state = el('span#live-state', 'off');
    let es = null;
    toggle.addEventListener('change', () => {
      if (es) { es.close(); es = null; state.textContent = 'off'; }
      if (!toggle.checked) return;
      es = new EventSource('/api/v1/events?topic=log.');
      DS.sources.push(es);
      es.addEventListener('open', () => { state.textContent = 'live'; });
      es.addEventListener('bus', ev => {
        let m; try { m = JSON.parse(ev.data); } catch (e) { return; }
        const r = m.data || {};
        live.prepend(el('tr', LOG_COLS.map(c => el('td', { 'data-label': c.title },
          String(r[c.key] ?? (c.key === 'time' ? new Date(m.ts).toISOString() : ''))))));
        while (live.children.length > 200) live.lastChild.remove();
      });
      es.addEventListener('end', () => { state.textContent = 'ended by the device'; toggle.checked = false; es.close(); });
      es.addEventListener('error', () => { if (es && es.readyState === EventSource.CLOSED) state.textContent = 'disconnected'; });
    });
    v.appendChild(DS.section('Live', el('label.check', toggle, ' follow new records '), state,
      el('table#live-table', el('thead', el('tr', LOG_COLS.map(c => el('th', c.title)))), live)));
  };

  // ---- audit and harden ------------------------------------------------------------------------------------
  P.audit = async function (v) {
    v.appendChild(el('h1', 'Audit and harden'));
    const out = el('div#audit-out');
    let dryLevel = 0;
    const applyBtn = DS.button('Apply this level', async () => {
      if (!confirm(`Apply protection level ${dryLevel} on every service?`)) return;
      const r = await sweep('audit.harden', { level: dryLevel, dry_run: false });
      out.replaceChildren(hardenTable(r, false));
      applyBtn.disabled = true;
    }, 'primary#harden-apply');
    applyBtn.disabled = true;
    const f = DS.form('auditf', [{ name: 'level', label: 'Protection level', type: 'select', options: ['1', '2', '3'], value: '1' }],
      'Run the audit', async x => {
        const r = await auditReport(Number(x.level));
        out.replaceChildren(DS.table([{ key: 'service' }, { key: 'id' }, { key: 'result', render: i => el('span.res.' + String(i.result).replace(/[^a-z]/g, ''), i.result) },
          { key: 'title' }, { key: 'detail' }, { key: 'remediation' }, { key: 'dahua_section', title: 'Guide' }], r.items, 'audit-table'));
        return `${r.passed} of ${r.passed + r.failed} passed (${r.score}%), ${r.operator} for the operator`;
      });
    f.querySelector('.actions').appendChild(DS.button('Harden: dry run first', async () => {
      const level = Number(f.elements.level.value);
      const r = await sweep('audit.harden', { level, dry_run: true });
      out.replaceChildren(hardenTable(r, true));
      dryLevel = level; applyBtn.disabled = false;
      applyBtn.textContent = `Apply level ${level}`;
    }, '#harden-dry'));
    function hardenTable(r, dry) {
      const items = r.flatMap(o => o.r ? (o.r.items || []).map(i => ({ service: o.s, ...i })) : []);
      return el('div', el('p', dry ? 'What this level would change (nothing changed yet):' : 'Applied:'),
        DS.table([{ key: 'service' }, { key: 'id' }, { key: 'action' }, { key: 'title' }, { key: 'detail' }], items, 'harden-table'));
    }
    v.appendChild(DS.section('Hardening report', f, el('div.actions', applyBtn), out));
  };
})();
