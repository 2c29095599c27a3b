#!/usr/bin/env node
// End-to-end test of the review UI against a real radraft, a real Postgres,
// DCMTK's storescu and the bundled demo model, driven by playwright-core on
// Debian's chromium. Run from web/: `npm run e2e` (scripts/test.sh runs it).
//
// Environment: RADRAFT_TEST_DATABASE_URL (superuser URL, default
// postgres://127.0.0.1:5432/postgres), RADRAFT_ORT_LIB (else
// scripts/fetch-onnxruntime.sh), E2E_SKIP_BUILD=1 (use the existing
// web/dist), E2E_KEEP=1 (keep the temp dir and database for debugging).
// E2E_FAKE_DRAFT=1 is a development aid for machines where the inference
// worker cannot run: serve runs with --role=api and the test writes an AI
// draft row itself. Such a run is marked as not a real run and exits 1.
//
// Screenshots go to <repo>/.ci/artifacts/screenshots/. Each step prints
// PASS/FAIL/SKIP; a step whose prerequisite failed is skipped; the exit
// status is 1 when any step failed or was skipped.

import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, existsSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launch, launchBrowser } from './browser.mjs';
import { decodePNG, patchMean, regionStd } from './png.mjs';

const WEB = resolve(new URL('..', import.meta.url).pathname);
const ROOT = resolve(WEB, '..');
const SHOTS = join(ROOT, '.ci/artifacts/screenshots');
const TMP = mkdtempSync(join(tmpdir(), 'radraft-e2e-'));
const ADMIN_URL = process.env.RADRAFT_TEST_DATABASE_URL || 'postgres://127.0.0.1:5432/postgres';
const DB = `radraft_e2e_${process.pid}_${Date.now().toString(36)}`;
const PASSWORDS = { rad1: 'rad1-password-e2e', rad2: 'rad2-password-e2e', qa1: 'qa1-password-e2e' };
const INDICATION = 'Cough and fever, rule out pneumonia';
const T0 = Date.now();
const FAKE_DRAFT = process.env.E2E_FAKE_DRAFT === '1';

mkdirSync(SHOTS, { recursive: true });

// ---- step bookkeeping ----------------------------------------------------------

const results = [];
const failed = new Set();
async function step(name, fn, needs = []) {
  const missing = needs.filter((n) => failed.has(n) || !results.find((r) => r.name === n));
  if (missing.length) {
    results.push({ name, status: 'SKIP', why: `needs ${missing.join(', ')}` });
    failed.add(name);
    console.log(`SKIP  ${name} (needs ${missing.join(', ')})`);
    return;
  }
  const t = Date.now();
  try {
    await fn();
    results.push({ name, status: 'PASS', ms: Date.now() - t });
    console.log(`PASS  ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, status: 'FAIL', why: e?.message ?? String(e) });
    failed.add(name);
    console.log(`FAIL  ${name}: ${e?.stack ?? e}`);
  }
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs = 30000, everyMs = 500) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      if (e?.fatal) throw e;
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function run(cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts }).toString();
  } catch (e) {
    const err = (e.stderr?.toString() || e.stdout?.toString() || '').trim().split('\n').slice(-15).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (${e.status ?? e.signal}):\n${err}`);
  }
}

async function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
}

function dbURL(name) {
  const u = new URL(ADMIN_URL);
  u.pathname = '/' + name;
  return u.toString();
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

// ---- the server ---------------------------------------------------------------------

let serve = null;
let http = '';
let dicomPort = 0;
let mllpPort = 0;
let bin = '';
let studyUID = '';
let env = {};

function serveLogTail(n = 60) {
  try {
    return readFileSync(join(TMP, 'serve.log'), 'utf8').split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** Minimal API client with its own cookie jar (node fetch). */
class Client {
  constructor() {
    this.cookie = '';
    this.csrf = '';
  }
  async req(method, path, body, headers = {}) {
    const h = { Accept: 'application/json', ...headers };
    if (this.cookie) h.Cookie = this.cookie;
    if (this.csrf && method !== 'GET') h['X-CSRF-Token'] = this.csrf;
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const r = await fetch(http + '/api/v1' + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const sc = r.headers.get('set-cookie');
    if (sc) this.cookie = sc.split(';')[0];
    const text = await r.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    return { status: r.status, data, etag: r.headers.get('etag') };
  }
  async login(user) {
    const r = await this.req('POST', '/auth/login', { username: user, password: PASSWORDS[user] });
    assert(r.status === 200, `login ${user}: HTTP ${r.status} ${JSON.stringify(r.data)}`);
    this.csrf = r.data.csrf_token;
    return r.data;
  }
}

// ---- steps ------------------------------------------------------------------------------

async function main() {
  console.log(`e2e: temp ${TMP}, database ${DB}, screenshots ${SHOTS}`);

  await step('build web UI', async () => {
    if (process.env.E2E_SKIP_BUILD === '1' && existsSync(join(WEB, 'dist/index.html'))) return;
    run('npm', ['run', 'build', '--silent'], { cwd: WEB });
    assert(existsSync(join(WEB, 'dist/index.html')), 'dist/index.html missing after build');
  });

  await step('build radraft', async () => {
    bin = join(TMP, 'radraft');
    run('go', ['build', '-o', bin, './cmd/radraft']);
  }, ['build web UI']);

  await step('create database', async () => {
    run('psql', [ADMIN_URL, '-v', 'ON_ERROR_STOP=1', '-qc', `CREATE DATABASE ${DB}`]);
    const ort = process.env.RADRAFT_ORT_LIB || run('scripts/fetch-onnxruntime.sh', []).trim();
    [http, dicomPort, mllpPort] = [await freePort(), await freePort(), await freePort()];
    const httpPort = http;
    http = `http://127.0.0.1:${httpPort}`;
    env = {
      ...process.env,
      RADRAFT_DATABASE_URL: dbURL(DB),
      RADRAFT_STORAGE_DIR: join(TMP, 'dicom'),
      RADRAFT_DICOM_ADDR: `127.0.0.1:${dicomPort}`,
      RADRAFT_MLLP_ADDR: `127.0.0.1:${mllpPort}`,
      RADRAFT_HTTP_ADDR: `127.0.0.1:${httpPort}`,
      RADRAFT_SETTLE_QUIET: '1s',
      RADRAFT_ORDER_WAIT: '5s',
      RADRAFT_MODEL_DIR: join(ROOT, 'models/demo'),
      RADRAFT_ORT_LIB: ort,
    };
    if (FAKE_DRAFT) env.RADRAFT_ROLE = 'api';
    run(bin, ['migrate'], { env });
  }, ['build radraft']);

  await step('create users', async () => {
    for (const [u, role] of [
      ['rad1', 'radiologist'],
      ['rad2', 'radiologist'],
      ['qa1', 'qa_lead'],
    ]) {
      run(bin, ['user', 'add', '--username', u, '--role', role], { env, input: PASSWORDS[u] + '\n' });
    }
  }, ['create database']);

  await step('start radraft serve', async () => {
    const log = openSync(join(TMP, 'serve.log'), 'a');
    serve = spawn(bin, ['serve'], { cwd: ROOT, env, stdio: ['ignore', log, log] });
    serve.on('exit', (code) => {
      if (code !== null && code !== 0) console.log(`radraft serve exited with ${code}\n${serveLogTail()}`);
    });
    await until(
      'radraft /healthz',
      async () => {
        if (serve.exitCode !== null) throw Object.assign(new Error(`radraft serve exited with ${serve.exitCode}: ${serveLogTail(5)}`), { fatal: true });
        return (await fetch(http + '/healthz')).ok;
      },
      60000,
      300,
    );
  }, ['create users']);

  await step('send HL7 order (MLLP)', async () => {
    studyUID = run('dcmdump', ['+P', '0020,000d', '-q', dcmFile()]).match(/\[([0-9.]+)\]/)[1];
    const ts = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
    const obr = ['OBR', '1', 'PLE2E^RIS', 'FLE2E^RAD', '71045^XR CHEST 1 VIEW^CPT4', '', '', ts];
    while (obr.length < 31) obr.push('');
    obr.push(`^${INDICATION}`); // OBR-31 reason for study
    const msg = [
      `MSH|^~\\&|RIS|E2EHOSP|RADRAFT|E2EHOSP|${ts}||ORM^O01|E2E${Date.now()}|P|2.3`,
      'PID|1||COVID-19-AR-16406488^^^E2EHOSP^MR||COVID^E2E||19600101|M',
      `ORC|NW|PLE2E^RIS|FLE2E^RAD||SC||^^^${ts}^^R||${ts}`,
      obr.join('|'),
      `ZDS|${studyUID}^RIS^Application^DICOM`,
    ].join('\r');
    const ack = await mllp(mllpPort, msg);
    assert(/MSA\|AA/.test(ack), `HL7 ACK is not AA: ${ack.replace(/\r/g, '\n')}`);
  }, ['start radraft serve']);

  await step('push the CR with storescu', async () => {
    if (!studyUID) studyUID = run('dcmdump', ['+P', '0020,000d', '-q', dcmFile()]).match(/\[([0-9.]+)\]/)[1];
    run('storescu', ['-aet', 'E2ESCU', '-aec', 'RADRAFT', '127.0.0.1', String(dicomPort), dcmFile()]);
  }, ['start radraft serve']);

  const api = new Client();
  await step('AI draft appears (demo model)', async () => {
    await api.login('rad1');
    if (FAKE_DRAFT) await fakeDraft();
    let last = '';
    try {
      await until(
        'the AI draft',
        async () => {
          const r = await api.req('GET', `/studies/${studyUID}/report`);
          if (r.status === 200 && r.data?.ai_draft?.findings) return true;
          const st = await api.req('GET', `/studies/${studyUID}`);
          const now = `${st.status} ${st.data?.state ?? ''} ${st.data?.state_reason ?? ''}`;
          if (now !== last) console.log(`      study: ${now}`);
          last = now;
          return false;
        },
        240000,
        1000,
      );
    } catch (e) {
      throw new Error(`${e.message}; study state: ${last}`);
    }
  }, ['push the CR with storescu']);

  // ---- browser ----
  const { ctx, profile } = await launch();
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  let browser2 = null;

  try {
    await step('log in (radiologist)', async () => {
      await page.goto(http + '/');
      await page.waitForSelector('#username');
      await shot(page, '01-login');
      await page.fill('#username', 'rad1');
      await page.fill('#password', 'wrong-password');
      await page.press('#password', 'Enter');
      await page.waitForFunction(() => document.querySelector('#login-error')?.textContent?.length > 0);
      await page.fill('#password', PASSWORDS.rad1);
      await page.press('#password', 'Enter');
      await page.waitForSelector('table.worklist');
      const who = await page.textContent('[data-testid=whoami]');
      assert(who.includes('rad1') && who.includes('radiologist'), `whoami says ${who}`);
      assert((await page.$('a[href="#/qa"]')) === null, 'a radiologist sees the QA link');
    }, ['AI draft appears (demo model)']);

    await step('worklist lists the study', async () => {
      const row = await page.waitForSelector(`tr[data-study-uid="${studyUID}"]`, { timeout: 15000 });
      const txt = await row.textContent();
      assert(/Drafted/.test(txt), `status badge of the row: ${txt}`);
      // filters: search by MRN, then a status filter that excludes it
      await page.fill('#f-q', 'COVID-19-AR');
      await page.press('#f-q', 'Enter');
      await page.waitForSelector(`tr[data-study-uid="${studyUID}"]`);
      await page.selectOption('#f-status', 'signed');
      await page.waitForFunction(() => /No studies match/.test(document.body.textContent));
      await page.selectOption('#f-status', '');
      await page.waitForSelector(`tr[data-study-uid="${studyUID}"]`);
      await shot(page, '02-worklist');
      const bad = await unlabeled(page);
      assert(bad.length === 0, `controls without a label on the worklist: ${bad.join(' | ')}`);
    }, ['log in (radiologist)']);

    await step('open the study from the keyboard', async () => {
      await page.focus(`tr[data-study-uid="${studyUID}"]`);
      await page.keyboard.press('Enter');
      await page.waitForSelector('[data-testid=viewport][data-loaded]', { timeout: 60000 });
      const loaded = await page.getAttribute('[data-testid=viewport]', 'data-loaded');
      assert(loaded === 'true', `viewer: ${await page.textContent('.viewer-pane')}`);
      const ind = await page.textContent('[data-testid=indication]');
      assert(ind.includes(INDICATION) || !failed.has('send HL7 order (MLLP)'), `indication shown: ${ind}`);
      await page.waitForSelector('[data-testid=findings]');
      await sleep(500);
      await shot(page, '03-study');
      const bad = await unlabeled(page);
      assert(bad.length === 0, `controls without a label on the study page: ${bad.join(' | ')}`);
      assert(await fits(page), 'the study page scrolls sideways at 1366x768');
    }, ['worklist lists the study']);

    let samples = null;
    await step('viewer shows the image, not blank, not inverted', async () => {
      samples = await sampleAnatomy(page);
      console.log(`      lungs ${samples.lungs.toFixed(1)}, mediastinum/abdomen ${samples.centre.toFixed(1)}, std ${samples.std.toFixed(1)}`);
      assert(samples.std > 15, `canvas looks blank (std ${samples.std})`);
      assert(samples.centre - samples.lungs > 30, `lungs (${samples.lungs}) are not darker than the mediastinum (${samples.centre}): wrongly inverted?`);
      const ro = await page.textContent('[data-testid=wl-readout]');
      assert(/MONOCHROME1/.test(ro), `readout: ${ro}`);
      // invert flips it, and back
      await page.keyboard.press('i');
      const inv = await sampleAnatomy(page);
      assert(inv.lungs - inv.centre > 30, `invert did not invert (lungs ${inv.lungs}, centre ${inv.centre})`);
      await page.keyboard.press('i');
    }, ['open the study from the keyboard']);

    await step('window/level by drag, preset, zoom, fit', async () => {
      const vp = await page.$('[data-testid=viewport]');
      const before = { wc: await vp.getAttribute('data-wc'), ww: await vp.getAttribute('data-ww') };
      const box = await vp.boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + box.width / 2 + i * 12, box.y + box.height / 2 + i * 8);
      await page.mouse.up();
      await sleep(300);
      const after = { wc: await vp.getAttribute('data-wc'), ww: await vp.getAttribute('data-ww') };
      assert(before.wc !== after.wc || before.ww !== after.ww, `drag did not change W/L (${JSON.stringify(before)} → ${JSON.stringify(after)})`);
      const s2 = await sampleAnatomy(page);
      assert(Math.abs(s2.centre - samples.centre) > 3 || Math.abs(s2.lungs - samples.lungs) > 3, 'pixels did not change with W/L');
      await shot(page, '04-viewer-wl');
      await page.keyboard.press('2'); // full-range preset
      await sleep(200);
      const full = await vp.getAttribute('data-ww');
      assert(full !== after.ww, 'preset 2 did not change the window');
      await page.keyboard.press('+');
      await sleep(100);
      assert(/zoom 1\.2/.test(await page.textContent('[data-testid=wl-readout]')), 'zoom in');
      await page.keyboard.press('f');
      await page.keyboard.press('0');
      await sleep(200);
      assert((await vp.getAttribute('data-ww')) === before.ww, 'reset restores the window');
      const s3 = await sampleAnatomy(page);
      assert(s3.centre - s3.lungs > 30, `after reset the image looks inverted (lungs ${s3.lungs}, centre ${s3.centre})`);
      assert(Math.abs(s3.lungs - samples.lungs) < 12 && Math.abs(s3.centre - samples.centre) < 12, `reset does not restore the first rendering (${JSON.stringify(s3)} vs ${JSON.stringify(samples)})`);
    }, ['viewer shows the image, not blank, not inverted']);

    let myText = '';
    await step('edit the draft: AI marking, accept, autosave', async () => {
      assert((await page.$('[data-testid=demo-banner]')) !== null, 'no demo-model label');
      const aiCount = await page.$$eval('[data-testid=sentences] li[data-owner=ai]', (l) => l.length);
      assert(aiCount > 0, 'no sentence marked as AI');
      // accept the first AI sentence from the keyboard
      await page.click('[data-testid=findings]');
      await page.keyboard.press('Control+Home');
      await page.keyboard.press('Alt+a');
      await page.waitForSelector('[data-testid=sentences] li[data-owner=accepted]');
      // delete the last sentence with its button, type a finding of our own
      const n0 = await page.$$eval('[data-testid=sentences] li', (l) => l.length);
      if (n0 > 1) {
        await page.click('[data-testid=sentences] li:last-child button:has-text("Delete")');
        await until('one sentence fewer', async () => (await page.$$eval('[data-testid=sentences] li', (l) => l.length)) === n0 - 1, 5000, 100);
      }
      await page.click('[data-testid=findings]');
      await page.keyboard.press('Control+End');
      await page.keyboard.type(' There is a large right pneumothorax with mediastinal shift.');
      await page.waitForSelector('[data-testid=sentences] li[data-owner=human]');
      await until('autosave', async () => /Saved v\d/.test(await page.textContent('[data-testid=save-state]')), 15000, 200);
      // second reader: the inline check against the AI draft
      await page.click('[data-testid=check]');
      await page.waitForSelector('[data-testid=check-result] h3:has-text("Second reader")', { timeout: 20000 });
      const chk = await page.textContent('[data-testid=check-result]');
      assert(/pneumothorax/.test(chk), `second reader does not show the differing sentence: ${chk}`);
      await shot(page, '05b-second-reader');
      myText = await page.inputValue('[data-testid=findings]');
      const r = await api.req('GET', `/studies/${studyUID}/report`);
      assert(r.data.current.findings === myText, 'server text differs from the editor');
      assert((r.data.current.accepted_sentences ?? []).length === 1, `accepted on server: ${JSON.stringify(r.data.current.accepted_sentences)}`);
      assert(r.data.sentences.some((s) => s.owner === 'human'), 'server does not see a human sentence');
      await shot(page, '05-editor-edited');
    }, ['open the study from the keyboard']);

    await step('conflict from a second browser, resolved', async () => {
      browser2 = await launchBrowser();
      const ctx2 = await browser2.newContext({ viewport: { width: 1366, height: 768 } });
      const p2 = await ctx2.newPage();
      await p2.goto(http + '/#/login');
      await p2.fill('#username', 'rad2');
      await p2.fill('#password', PASSWORDS.rad2);
      await p2.press('#password', 'Enter');
      await p2.waitForSelector('table.worklist');
      await p2.goto(`${http}/#/study/${encodeURIComponent(studyUID)}`);
      await p2.waitForSelector('[data-testid=findings]');
      await p2.click('[data-testid=findings]');
      await p2.keyboard.press('Control+End');
      await p2.keyboard.type(' Second reader note from rad2.');
      await until('rad2 autosave', async () => /Saved v\d/.test(await p2.textContent('[data-testid=save-state]')), 15000, 200);
      const theirVersion = (await api.req('GET', `/studies/${studyUID}/report`)).data.current_version;
      // rad1 keeps typing on the stale version
      await page.click('[data-testid=findings]');
      await page.keyboard.press('Control+End');
      await page.keyboard.type(' No pleural effusion on the left.');
      await page.waitForSelector('[data-testid=conflict]', { timeout: 15000 });
      await shot(page, '06-conflict');
      const conflictText = await page.textContent('[data-testid=conflict]');
      assert(conflictText.includes('Second reader note from rad2.'), 'conflict view does not show their text');
      assert(conflictText.includes('No pleural effusion on the left.'), 'conflict view does not show my text');
      myText = myText + ' No pleural effusion on the left.';
      await page.click('[data-testid=keep-mine]');
      await until('saved after conflict', async () => /Saved v\d/.test(await page.textContent('[data-testid=save-state]')), 15000, 200);
      const r = await api.req('GET', `/studies/${studyUID}/report`);
      assert(r.data.current.findings === myText, `after resolve the server has: ${r.data.current.findings}`);
      assert(r.data.current_version > theirVersion, 'no new version after resolving');
      assert(r.data.versions.some((v) => v.findings.includes('Second reader note from rad2.')), "rad2's version was lost");
      await ctx2.close();
    }, ['edit the draft: AI marking, accept, autosave']);

    await step('sign', async () => {
      await page.keyboard.press('Escape');
      await page.click('[data-testid=sign]');
      const dlg = await page.waitForSelector('[data-testid=confirm-ok], [data-testid=report-status]:has-text("Signed")', { timeout: 10000 });
      if ((await dlg.getAttribute('data-testid')) === 'confirm-ok') {
        await shot(page, '07-sign-confirm');
        await dlg.click();
      }
      await page.waitForSelector('[data-testid=report-status]:has-text("Signed")', { timeout: 15000 });
      assert(await page.$eval('[data-testid=findings]', (t) => t.readOnly), 'signed text is still editable');
      const r = await api.req('GET', `/studies/${studyUID}/report`);
      assert(r.data.status === 'signed', `server status ${r.data.status}`);
      assert(r.data.current.findings === myText, 'signed text differs');
      await shot(page, '08-signed');
      await page.goto(http + '/#/');
      await page.waitForSelector(`tr[data-study-uid="${studyUID}"] [data-status=signed]`);
    }, ['conflict from a second browser, resolved']);

    await step('amend with a reason', async () => {
      await page.goto(`${http}/#/study/${encodeURIComponent(studyUID)}`);
      await page.waitForSelector('[data-testid=amend]');
      await page.click('[data-testid=amend]');
      await page.click('[data-testid=findings]');
      await page.keyboard.press('Control+End');
      await page.keyboard.type(' Addendum: findings discussed with the referring team.');
      await page.fill('[data-testid=amend-reason]', 'Communication of critical finding documented');
      await shot(page, '09-amend');
      await page.click('[data-testid=amend-submit]');
      await page.waitForSelector('[data-testid=report-status]:has-text("Amended")', { timeout: 15000 });
      const r = await api.req('GET', `/studies/${studyUID}/report`);
      assert(r.data.status === 'amended', `server status ${r.data.status}`);
      assert(r.data.versions.some((v) => v.reason === 'Communication of critical finding documented'), 'reason not stored');
    }, ['sign']);

    await step('help overlay and 1920x1080 layout', async () => {
      await page.setViewportSize({ width: 1920, height: 1080 });
      await page.goto(`${http}/#/study/${encodeURIComponent(studyUID)}`);
      await page.waitForSelector('[data-testid=viewport][data-loaded=true]', { timeout: 60000 });
      await sleep(500);
      await shot(page, '10-study-1920');
      assert(await fits(page), 'the study page scrolls sideways at 1920x1080');
      await page.keyboard.press('?');
      await page.waitForSelector('#help-dialog[open]');
      await shot(page, '11-help');
      await page.keyboard.press('Escape');
      await page.setViewportSize({ width: 1366, height: 768 });
    }, ['open the study from the keyboard']);

    // ---- QA lead ----
    const qa = new Client();
    let flagId = '';
    await step('QA flag raised after signing', async () => {
      await qa.login('qa1');
      flagId = await until(
        'a QA flag for the study',
        async () => {
          const r = await qa.req('GET', '/qa/flags?status=open');
          if (r.status === 404) throw new Error('no /api/v1/qa/flags route yet');
          const items = r.data?.items ?? r.data?.flags ?? [];
          const f = items.find((x) => x.study_uid === studyUID);
          return f ? String(f.id) : null;
        },
        120000,
        1000,
      );
    }, ['sign']);

    await step('QA lead: queue, flag page, disposition, metrics', async () => {
      const qctx = await browser2.newContext({ viewport: { width: 1366, height: 768 } });
      const qp = await qctx.newPage();
      await qp.goto(http + '/#/login');
      await qp.fill('#username', 'qa1');
      await qp.fill('#password', PASSWORDS.qa1);
      await qp.press('#password', 'Enter');
      await qp.waitForSelector(`tr[data-flag-id="${flagId}"]`, { timeout: 15000 });
      // the worklist marks the flagged study
      await qp.goto(http + '/#/');
      await qp.waitForSelector(`tr[data-study-uid="${studyUID}"] [data-testid=qa-flag]`, { timeout: 15000 });
      await shot(qp, '12a-worklist-qa-flag');
      await qp.goto(http + '/#/qa');
      await qp.waitForSelector(`tr[data-flag-id="${flagId}"]`, { timeout: 15000 });
      await shot(qp, '12-qa-queue');
      await qp.click(`tr[data-flag-id="${flagId}"]`);
      await qp.waitForSelector('[data-testid=disposition]');
      await shot(qp, '13-qa-flag');
      const bad = await unlabeled(qp);
      assert(bad.length === 0, `controls without a label on the flag page: ${bad.join(' | ')}`);
      await qp.selectOption('[data-testid=disposition]', 'model_error_confirmed');
      await qp.fill('[data-testid=disposition-note]', 'AI draft missed the pneumothorax (e2e).');
      await qp.click('[data-testid=disposition-save]');
      await qp.waitForSelector('[data-testid=disposition-state]:has-text("saved")');
      const r = await qa.req('GET', `/qa/flags/${flagId}`);
      const f = r.data?.flag ?? r.data;
      assert(f.disposition === 'model_error_confirmed', `server disposition ${JSON.stringify(f.disposition)}`);
      await qp.goto(http + '/#/qa/metrics');
      await qp.waitForSelector('svg.chart');
      await shot(qp, '14-qa-metrics');
      // role: a QA lead cannot sign
      await qp.goto(`${http}/#/study/${encodeURIComponent(studyUID)}`);
      await qp.waitForSelector('[data-testid=findings]');
      assert((await qp.$('[data-testid=sign]')) === null && (await qp.$('[data-testid=amend]')) === null, 'QA lead sees sign/amend');
      await qctx.close();
    }, ['QA flag raised after signing']);

    await step('no uncaught page errors', async () => {
      assert(pageErrors.length === 0, pageErrors.join('\n'));
    });
  } finally {
    await ctx.close().catch(() => {});
    await browser2?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

/** E2E_FAKE_DRAFT only: what the inference worker would write. */
async function fakeDraft() {
  const uid = studyUID.replace(/'/g, "''");
  await until('the study row', async () => run('psql', [dbURL(DB), '-tAc', `SELECT state FROM studies WHERE study_uid='${uid}'`]).trim() !== '', 30000, 500);
  await sleep(2000);
  run('psql', [dbURL(DB), '-v', 'ON_ERROR_STOP=1', '-qc', `
    WITH r AS (INSERT INTO reports (id, study_uid, status, current_version, ai_version) VALUES (gen_random_uuid(), '${uid}', 'draft', 1, 1) RETURNING id)
    INSERT INTO report_versions (report_id, version, kind, author, findings, model_name, model_version)
      SELECT id, 1, 'ai_draft', 'ai', 'The lungs are clear. There is no pleural effusion. Heart size is normal.', 'radraft-demo', '1' FROM r;
    UPDATE studies SET state='drafted', state_reason='' WHERE study_uid='${uid}';`]);
}

function dcmFile() {
  const dir = run('go', ['list', '-m', '-f', '{{.Dir}}', 'github.com/suyashkumar/dicom']).trim();
  return join(dir, 'testdata/4.dcm');
}

/** Sends one HL7 message over MLLP and returns the ACK. */
function mllp(port, msg) {
  return new Promise((res, rej) => {
    const sock = connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const t = setTimeout(() => {
      sock.destroy();
      rej(new Error('no ACK in 15 s'));
    }, 15000);
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(msg + '\r', 'utf8'), Buffer.from([0x1c, 0x0d])])));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf(0x1c);
      if (end >= 0) {
        clearTimeout(t);
        sock.end();
        res(buf.subarray(1, end).toString('utf8'));
      }
    });
    sock.on('error', (e) => {
      clearTimeout(t);
      rej(e);
    });
  });
}

/** No horizontal page scroll at the current size. */
async function fits(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/** Form controls and buttons without an accessible name (labels, aria). */
async function unlabeled(page) {
  return page.evaluate(() => {
    const bad = [];
    for (const el of document.querySelectorAll('input, select, textarea, button')) {
      if (el.type === 'hidden' || el.closest('[hidden]')) continue;
      const id = el.id;
      const named =
        (id && document.querySelector(`label[for="${CSS.escape(id)}"]`)) ||
        el.getAttribute('aria-label') ||
        el.getAttribute('aria-labelledby') ||
        el.closest('label') ||
        (el.tagName === 'BUTTON' && el.textContent.trim());
      if (!named) bad.push(el.outerHTML.slice(0, 80));
    }
    return bad;
  });
}

/** Mean brightness of both lungs and of the mediastinum/abdomen on screen. */
async function sampleAnatomy(page) {
  await sleep(300);
  const pts = await page.evaluate(() => {
    const v = window.__radraftViewer;
    return {
      lungs: [v.imageFractionToClient(0.27, 0.38), v.imageFractionToClient(0.73, 0.38)],
      centre: [v.imageFractionToClient(0.5, 0.5), v.imageFractionToClient(0.5, 0.8)],
      box: (() => {
        const r = document.querySelector('[data-testid=viewport]').getBoundingClientRect();
        return [r.left, r.top, r.right, r.bottom];
      })(),
      dpr: window.devicePixelRatio,
    };
  });
  const img = decodePNG(await page.screenshot());
  const d = pts.dpr;
  const mean = (list) => list.reduce((a, [x, y]) => a + patchMean(img, x * d, y * d, 8), 0) / list.length;
  const [x0, y0, x1, y1] = pts.box.map((v) => v * d);
  return { lungs: mean(pts.lungs), centre: mean(pts.centre), std: regionStd(img, x0, y0, x1, y1) };
}

async function cleanup() {
  if (serve && serve.exitCode === null) {
    serve.kill('SIGTERM');
    await Promise.race([new Promise((r) => serve.once('exit', r)), sleep(10000)]);
    if (serve.exitCode === null) serve.kill('SIGKILL');
  }
  if (process.env.E2E_KEEP === '1') {
    console.log(`kept ${TMP} and database ${DB}`);
    return;
  }
  try {
    run('psql', [ADMIN_URL, '-qc', `DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`]);
  } catch (e) {
    console.log(`could not drop ${DB}: ${e.message}`);
  }
  rmSync(TMP, { recursive: true, force: true });
}

let code = 0;
try {
  await main();
} catch (e) {
  console.log(`e2e aborted: ${e?.stack ?? e}`);
  code = 1;
} finally {
  if (FAKE_DRAFT) {
    console.log('E2E_FAKE_DRAFT=1: the AI draft was written by the test, not the model; NOT A REAL RUN');
    code = 1;
  }
  if (results.some((r) => r.status !== 'PASS')) {
    code = 1;
    const tail = serveLogTail(40);
    if (tail) console.log(`--- radraft serve log (tail) ---\n${tail}`);
  }
  await cleanup();
  const summary = results.map((r) => `${r.status.padEnd(4)}  ${r.name}${r.why ? ` — ${r.why.split('\n')[0]}` : ''}`).join('\n');
  console.log(`\n=== e2e summary (${((Date.now() - T0) / 1000).toFixed(0)} s) ===\n${summary}`);
  writeFileSync(join(SHOTS, '..', 'e2e-summary.txt'), summary + '\n');
  process.exit(code);
}
