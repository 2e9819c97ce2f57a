// console.js - the web console in Debian's chromium (playwright-core), as an
// operator uses it: first boot, login, a user added, a function disabled, a
// filter staged and applied with commit-confirm, the record in the live log,
// logout, and five wrong passwords ending in the lockout message.
// Env: URL, SETUP_CODE_FILE, ADMIN_PW, USER_PW, SHOTS (screenshot directory).
// Prints TAP lines ("ok - ", "not ok - ") for tests/run.sh.
'use strict';
const fs = require('fs');
const { chromium } = require('playwright-core');

const URL = process.env.URL, SHOTS = process.env.SHOTS;
const ADMIN_PW = process.env.ADMIN_PW, USER_PW = process.env.USER_PW;
let failed = 0;
const ok = d => console.log('ok - ' + d);
const nok = (d, why) => { failed++; console.log('not ok - ' + d); if (why) console.log('#   ' + String(why).split('\n')[0]); };
let P = null, nfail = 0;
async function step(d, fn) {
  try { await fn(); ok(d); return true; } catch (e) {
    nok(d, e.message);
    if (P) await P.screenshot({ path: `${SHOTS}/failed-${++nfail}.png`, fullPage: true }).catch(() => null);
    return false;
  }
}
const T = { timeout: 15000 };

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const ctx = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const p = await ctx.newPage();
  P = p;
  const errors = [];
  p.on('pageerror', e => errors.push(e.message));
  p.on('console', m => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  const shot = async name => p.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
  const page = async name => { await p.goto(`${URL}/#/${name}`); await p.waitForSelector(`#view-${name}.ready`, T); };

  // ---- first boot
  await p.goto(URL + '/');
  await step('a fresh device opens the first-boot page', () => p.waitForSelector('#init', T));
  await shot('init');
  await step('live policy feedback names the rule a weak password breaks', async () => {
    await p.fill('#init-password', 'abc');
    await p.waitForFunction(() => /rule 'length'/.test((document.querySelector('#init-feedback')?.textContent || '')), null, T)
      .catch(async e => { throw new Error(e.message + ': ' + await p.textContent('#init-feedback')); });
  });
  await step('and accepts a strong one', async () => {
    await p.fill('#init-password', ADMIN_PW);
    await p.waitForFunction(() => /meets the password policy/.test((document.querySelector('#init-feedback')?.textContent || '')), null, T);
  });
  await step('a wrong setup code is refused on its field', async () => {
    await p.fill('#init-setup_code', '000000000000');
    await p.fill('#init-confirm', ADMIN_PW);
    await p.click('#init-submit');
    await p.waitForFunction(() => (document.querySelector('.ferr[data-for="setup_code"]')?.textContent || '').length > 0 ||
      document.querySelector('#view-init .error'), null, T);
  });
  await step('the setup code and the password initialise the device', async () => {
    await p.fill('#init-setup_code', fs.readFileSync(process.env.SETUP_CODE_FILE, 'utf8').trim());
    await p.click('#init-submit');
    await p.waitForSelector('#login', T);
  });

  // ---- login
  await shot('login');
  await step('the admin logs in and sees the dashboard with every service and the audit score', async () => {
    await p.fill('#login-user', 'admin');
    await p.fill('#login-password', ADMIN_PW);
    await p.click('#login-submit');
    await p.waitForSelector('#view-dashboard #audit-level-3', T);
    const t = await p.textContent('#services');
    for (const s of ['authd', 'netcfgd', 'filterd', 'logd', 'webd']) if (!t.includes(s)) throw new Error('no ' + s);
    if (!/Level 1: \d+\/\d+/.test(await p.textContent('#audit-summary'))) throw new Error('no level 1 score');
  });
  await step('the session cookie is HttpOnly, Secure and SameSite=Strict, and the page cannot read it', async () => {
    const c = (await ctx.cookies()).find(c => c.name === '__Host-devsec');
    if (!c || !c.httpOnly || !c.secure || c.sameSite !== 'Strict') throw new Error(JSON.stringify(c));
    if ((await p.evaluate(() => document.cookie)).includes('devsec')) throw new Error('document.cookie shows it');
  });
  await shot('dashboard');

  // ---- a user
  await page('users');
  await step('a user is added with the live policy check', async () => {
    await p.fill('#useradd-name', 'alice');
    await p.selectOption('#useradd-group', 'operator');
    await p.fill('#useradd-password', USER_PW);
    await p.waitForFunction(() => /meets/.test((document.querySelector('#user-feedback')?.textContent || '')), null, T);
    await p.click('#useradd-submit');
    await p.waitForFunction(() => /alice/.test(document.querySelector('#users')?.textContent || ''), null, T);
  });
  await step('a user name the service refuses is shown on the name field', async () => {
    await p.fill('#useradd-name', 'bad name!');
    await p.fill('#useradd-password', USER_PW);
    await p.click('#useradd-submit');
    await p.waitForFunction(() => (document.querySelector('.ferr[data-for="name"]')?.textContent || '').includes('EINVAL'), null, T);
  });
  await shot('users');

  // ---- a function
  await page('functions');
  await step('a function is switched off', async () => {
    if (!(await p.isChecked('#fn-bonjour'))) throw new Error('bonjour is not on at first');
    await p.click('#fn-bonjour');
    await p.waitForFunction(() => /Bonjour disabled/.test(document.querySelector('.flash')?.textContent || ''), null, T);
  });
  await shot('functions');

  // ---- ports: a refused value is shown on its field
  await page('ports');
  await step('a port out of range is refused on its own field', async () => {
    await p.fill('#ports-http', '99999');
    await p.click('#ports-submit');
    await p.waitForFunction(() => /EINVAL/.test((document.querySelector('.ferr[data-for="http"]')?.textContent || '')), null, T);
  });
  await shot('ports');

  // ---- the filter, applied with commit-confirm
  await page('filter');
  await step('filter entries are staged', async () => {
    await p.fill('#filteradd-entries', '127.0.0.1 192.0.2.0/24');
    await p.click('#filteradd-submit');
    await p.waitForFunction(() => document.querySelector('#view-filter.ready') &&
      /192\.0\.2\.0\/24\s*staged/.test(document.querySelector('#entries')?.textContent || ''), null, T);
    await p.selectOption('#filtermode-mode', 'allow');
    await p.click('#filtermode-submit');
    await p.waitForFunction(() => /Staged, not applied yet: mode allow, 2 entries/.test(document.querySelector('#filter-state')?.textContent || ''), null, T);
  });
  await step('apply shows the confirm countdown and its button', async () => {
    await p.click('#filter-apply');
    await p.waitForFunction(() => /Rolled back in \d+ s/.test((document.querySelector('#confirm-state')?.textContent || '')), null, T);
    await p.waitForSelector('#filter-confirm:not([hidden])', T);
  });
  await shot('filter-confirm');
  await step('Confirm keeps the filter', async () => {
    await p.click('#filter-confirm');
    await p.waitForFunction(() => /confirmed/.test((document.querySelector('#confirm-state')?.textContent || '')), null, T);
  });

  // ---- the live log shows a record as it happens
  await page('logs');
  await step('a log search lists the security records', async () => {
    await p.click('#logq-submit');
    await p.waitForFunction(() => /filter/.test(document.querySelector('#log-table')?.textContent || ''), null, T);
  });
  await step('the live tail shows a new record when it is written', async () => {
    await p.check('#live-toggle');
    await p.waitForFunction(() => (document.querySelector('#live-state')?.textContent || '') === 'live', null, T);
    // an action in another tab of the same session writes a record
    const other = await ctx.newPage();
    await other.goto(`${URL}/#/functions`);
    await other.waitForSelector('#fn-bonjour', T);
    await other.click('#fn-bonjour');
    await other.waitForFunction(() => /Bonjour enabled/.test(document.querySelector('.flash')?.textContent || ''), null, T);
    await other.close();
    await p.waitForFunction(() => /bonjour/i.test((document.querySelector('#live-rows')?.textContent || '')), null, T);
  });
  await shot('logs');

  // ---- the other pages render without errors (and are kept as screenshots)
  for (const name of ['sessions', 'https', 'time', 'audit'])
    await step(`the ${name} page renders`, async () => { await page(name); await p.waitForTimeout(300); await shot(name); });
  await step('the audit dry run lists what a level would change before anything is applied', async () => {
    await p.selectOption('#auditf-level', '2');
    await p.click('#harden-dry');
    await p.waitForSelector('#harden-table', T);
    if (!(await p.isEnabled('#harden-apply'))) throw new Error('apply not offered after the dry run');
  });
  await step('the HTTPS page offers the root certificate for download', async () => {
    await page('https');
    const [dl] = await Promise.all([p.waitForEvent('download', T), p.click('text=Download the root certificate')]);
    const f = await dl.path();
    if (!/BEGIN CERTIFICATE/.test(fs.readFileSync(f, 'utf8'))) throw new Error('not a PEM certificate');
  });

  // ---- settings and calls, as devctl config and devctl call
  await page('settings');
  await step("a service's settings are shown", async () => {
    await p.selectOption('#config-service', 'authd');
    await p.click('#config-submit');
    await p.waitForFunction(() => /lockout_attempts/.test(document.querySelector('#config-show')?.textContent || ''), null, T);
  });
  await step('a refused setting names its field and changes nothing', async () => {
    await p.selectOption('#configset-service', 'authd');
    await p.fill('#configset-settings', 'lockout_attempts=999');
    await p.click('#configset-submit');
    await p.waitForFunction(() => /EINVAL.*lockout_attempts|lockout_attempts.*EINVAL|field lockout_attempts/.test(
      document.querySelector('#view-settings')?.textContent || ''), null, T);
  });
  await step('any method can be called with the session', async () => {
    await p.fill('#callf-service', 'authd');
    await p.fill('#callf-method', 'sys.ping');
    await p.click('#callf-submit');
    await p.waitForFunction(() => /"version"/.test(document.querySelector('#call-out')?.textContent || ''), null, T);
  });
  await shot('settings');
  await page('mail');
  await step('the mail page says the SMTP function is off (factory default)', () =>
    p.waitForSelector('#disabled-note', T));
  await page('logs');
  await step('the log store verifies from the console', async () => {
    await p.click('#log-verify');
    await p.waitForFunction(() => /ok\s*yes/.test(document.querySelector('#verify-out')?.textContent || ''), null, T);
  });
  await shot('logs-integrity');

  // ---- 360 px wide: nothing wider than the screen
  await step('the console fits a 360 px wide screen', async () => {
    await p.setViewportSize({ width: 360, height: 740 });
    for (const name of ['dashboard', 'functions', 'filter', 'logs']) {
      await page(name);
      await p.waitForTimeout(200);
      const w = await p.evaluate(() => document.documentElement.scrollWidth);
      if (w > 362) throw new Error(`${name} is ${w} px wide`);
    }
    await shot('narrow-filter');
    await p.setViewportSize({ width: 1920, height: 1080 });
  });

  // ---- logout, then the lockout message
  await step('logout ends the session', async () => {
    await page('dashboard');
    await p.click('#logout');
    await p.waitForSelector('#login', T);
    const r = await p.evaluate(async () => (await fetch('/api/v1/whoami')).status);
    if (r !== 401) throw new Error('whoami after logout: ' + r);
  });
  await step('five wrong passwords, then the lockout message', async () => {
    for (let i = 0; i < 5; i++) {
      await p.fill('#login-user', 'alice');
      await p.fill('#login-password', 'Wrong#Pass' + i);
      await p.click('#login-submit');
      // each answer is a fresh message (the form clears the last one on submit)
      await p.waitForFunction(() => { const e = document.querySelector('#view-login .error, #view-login .ferr:not(:empty)');
        return e && !e.dataset.seen; }, null, T);
      await p.evaluate(() => { document.querySelector('#view-login .error, #view-login .ferr:not(:empty)').dataset.seen = '1'; });
    }
    await p.fill('#login-user', 'alice');
    await p.fill('#login-password', USER_PW);
    await p.click('#login-submit');
    await p.waitForFunction(() => /locked/i.test(document.querySelector('#view-login')?.textContent || ''), null, T);
  });
  await shot('lockout');
  if (errors.length) nok('no script error in the page', errors.join(' | ')); else ok('no script error in the page');
  await browser.close();
  process.exit(failed ? 1 : 0);
})().catch(e => { nok('the browser run', e.stack || e.message); process.exit(1); });
