'use strict';
// More pages: mail, storage, exposure, the log's seal, and settings (any
// service's config, and any call, as devctl config and devctl call do).
(function () {
  const P = DS.pages, el = DS.el;

  // a daemon whose function is off answers EDISABLED: say so and where to switch it
  function disabledNote(v, e, fn) {
    if (e.code !== 'EDISABLED' && e.code !== 'EUNAVAIL') throw e;
    v.appendChild(el('p.note#disabled-note', e.code === 'EDISABLED'
      ? `The ${fn} function is off: switch it on in Functions first.` : e.message));
  }
  // key=value words, the password apart (never echoed, never in a URL)
  function settingsFrom(text, lists) {
    const out = {};
    for (const w of text.split(/\s+/).filter(Boolean)) {
      const i = w.indexOf('=');
      if (i < 1) throw Object.assign(new Error(`'${w}' is not key=value`), { field: 'settings' });
      const k = w.slice(0, i), val = w.slice(i + 1);
      out[k] = lists && lists.includes(k) ? val.split(',').filter(Boolean) : DS.typed(val);
    }
    return out;
  }
  function queueTable(q, id) {
    const items = q.items || [];
    return items.length ? DS.table(Object.keys(items[0]).map(k => ({ key: k })), items, id) : el('p#' + id, 'empty');
  }

  // ---- mail (smtp-notifier)
  P.mail = async function (v) {
    v.appendChild(el('h1', 'Mail'));
    let show;
    try { show = await DS.call('smtp-notifier', 'mail.show'); } catch (e) { return disabledNote(v, e, 'SMTP'); }
    v.appendChild(DS.section('Server, TLS and account', DS.show(show, 'mail-show')));
    v.appendChild(DS.section('Change', el('p', 'STARTTLS is required and the server certificate verified; the password is sent only inside TLS and never shown.'),
      DS.form('mailset', [
        { name: 'settings', label: 'Settings (key=value …, e.g. host=smtp.example.com port=587 from=cam@example.com alarm_to=a@x,b@y username=cam)' },
        { name: 'password', label: 'Account password (empty: unchanged)', type: 'password', autocomplete: 'new-password' },
      ], 'Save', async x => {
        const st = settingsFrom(x.settings, ['alarm_to']);
        if (x.password) st.password = x.password;
        await DS.call('smtp-notifier', 'config.set', { settings: st });
        return 'saved';
      })));
    v.appendChild(DS.section('Test and outbox', DS.form('mailtest', [{ name: 'to', label: 'Send a test mail to (empty: the alarm recipients)' }],
      'Send a test mail', async x => {
        const r = await DS.call('smtp-notifier', 'mail.test', x.to ? { to: x.to } : {});
        return `queued: ${r.queued}`;
      }), queueTable(await DS.call('smtp-notifier', 'mail.queue').catch(() => ({})), 'mail-queue'),
    el('div.actions', DS.button('Retry now', () => DS.act(v, () => DS.call('smtp-notifier', 'mail.retry'), 'retrying')))));
  };

  // ---- storage (sftp-storage)
  P.storage = async function (v) {
    v.appendChild(el('h1', 'Storage'));
    let show;
    try { show = await DS.call('sftp-storage', 'storage.show'); } catch (e) { return disabledNote(v, e, 'FTP/SFTP upload'); }
    v.appendChild(DS.section('Destination', DS.show(show, 'storage-show')));
    v.appendChild(DS.section('Change', el('p', 'SFTP with a pinned host key (plain ftp:// is refused); the device key authenticates, a password only if set.'),
      DS.form('storageset', [
        { name: 'settings', label: 'Settings (key=value …, e.g. url=sftp://nvr.example.com/cam1 username=cam)' },
        { name: 'password', label: 'Password (empty: unchanged; the device key is preferred)', type: 'password', autocomplete: 'new-password' },
      ], 'Save', async x => {
        const st = settingsFrom(x.settings);
        if (x.password) st.password = x.password;
        await DS.call('sftp-storage', 'config.set', { settings: st });
        return 'saved';
      })));
    const fp = el('p#storage-fp');
    v.appendChild(DS.section('Host key', el('p', 'The server\'s host key is shown first and pinned only when you confirm the fingerprint.'),
      el('div.actions',
        DS.button('Show the server\'s fingerprint', async () => {
          const r = await DS.act(v, () => DS.call('sftp-storage', 'storage.trust'), 'fingerprint read');
          if (r) fp.textContent = JSON.stringify(r);
        }),
        DS.button('Test the destination', () => DS.act(v, () => DS.call('sftp-storage', 'storage.test'), 'the destination works'))),
      fp, DS.form('storagetrust', [{ name: 'fingerprint', label: 'Pin this fingerprint (SHA256:…)' }], 'Pin', async x => {
        await DS.call('sftp-storage', 'storage.trust', { fingerprint: x.fingerprint.trim() });
        return 'pinned';
      })));
    v.appendChild(DS.section('Queue', queueTable(await DS.call('sftp-storage', 'storage.queue').catch(() => ({})), 'storage-queue')));
  };

  // ---- exposure (exposured)
  P.exposure = async function (v) {
    v.appendChild(el('h1', 'Exposure'));
    v.appendChild(el('p', 'What listens on the network and what the router forwards to this device (UPnP). ' +
      'Forward only the HTTPS port, never put the device in the router\'s DMZ (which UPnP cannot see), filter by IP, prefer a VPN.'));
    let show;
    try { show = await DS.call('exposured', 'exposure.show'); } catch (e) { return disabledNote(v, e, 'exposure'); }
    v.appendChild(DS.section('Now', DS.show(show, 'exposure-show'), el('div.actions',
      DS.button('Check again now', () => DS.act(v, () => DS.call('exposured', 'exposure.check'), 'checked').then(() => DS.route())))));
    v.appendChild(DS.section('Remove a router mapping', DS.form('unmap', [
      { name: 'port', label: 'External port', type: 'number' },
      { name: 'proto', label: 'Protocol', type: 'select', options: ['tcp', 'udp'], value: 'tcp' },
    ], 'Ask the router to remove it', async x => {
      await DS.call('exposured', 'exposure.unmap', { port: Number(x.port), proto: x.proto });
      return 'removed';
    })));
  };

  // ---- settings: any service's config, and any call
  P.settings = async function (v) {
    v.appendChild(el('h1', 'Settings'));
    const sv = (await DS.call('bus', 'bus.services')).services.filter(s => s.state === 'running').map(s => s.name);
    const out = el('div#config-out');
    const f = DS.form('config', [{ name: 'service', label: 'Service', type: 'select', options: sv, value: 'authd' }],
      'Show its settings', async x => {
        out.replaceChildren(DS.show(await DS.call(x.service, 'config.get'), 'config-show'));
        return x.service;
      });
    v.appendChild(DS.section('A service\'s settings', f, out, DS.form('configset', [
      { name: 'service', label: 'Service', type: 'select', options: sv, value: 'authd' },
      { name: 'settings', label: 'Change (key=value …)' },
    ], 'Change', async x => {
      const r = await DS.call(x.service, 'config.set', { settings: settingsFrom(x.settings) });
      return 'changed: ' + Object.keys(r.changed || r || {}).join(', ');
    })));
    const res = el('pre#call-out');
    v.appendChild(DS.section('Call a method', el('p', 'The same call devctl call makes, with your session: every authority check stays in the services.'),
      DS.form('callf', [
        { name: 'service', label: 'Service', value: 'authd' }, { name: 'method', label: 'Method', value: 'sys.ping' },
        { name: 'args', label: 'Arguments (JSON object)', value: '{}' },
      ], 'Call', async x => {
        let args;
        try { args = JSON.parse(x.args || '{}'); } catch (e) { throw Object.assign(new Error('not JSON: ' + e.message), { field: 'args' }); }
        res.textContent = JSON.stringify(await DS.call(x.service, x.method, args), null, 2);
        return 'answered';
      }), res));
  };

  // ---- the log's seal: status, verify on the device, the key exported once
  const logs = P.logs;
  P.logs = async function (v) {
    await logs(v);
    const st = await DS.call('logd', 'log.status').catch(() => null);
    if (!st) return;
    const out = el('div#seal-out');
    v.appendChild(DS.section('Integrity', DS.show({ records: st.records, segments: st.segments, sealed_to: st.sealed_to,
      unsealed: st.unsealed, seal_epoch: st.seal_epoch, seal_key_exported: st.seal_key_exported, quota_percent: st.quota_percent }, 'seal-status'),
    el('div.actions',
      DS.button('Verify the store now', async () => {
        const r = await DS.act(v, () => DS.call('logd', 'log.verify'), 'verified');
        if (r) out.replaceChildren(DS.show(r, 'verify-out'));
      }, '#log-verify'),
      st.seal_key_exported ? null : DS.button('Export the initial seal key (once: it is erased from the device)', async () => {
        if (!confirm('The key leaves the device now and is erased from it: keep the file somewhere safe. Continue?')) return;
        const r = await DS.act(v, () => DS.call('logd', 'log.seal.init'), 'key exported: keep it off the device');
        if (r) DS.download('devsec-seal.key', r.key + '\n');
      })), out));
  };
})();
