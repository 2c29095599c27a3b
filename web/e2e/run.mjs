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
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, openSync, existsSync } from 'node:fs';
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
let failPage = null; // the radiologist's page, screenshotted when a step fails
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
    // what the browser showed when the step failed
    await failPage?.screenshot({ path: join(SHOTS, `FAIL-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}.png`) }).catch(() => {});
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

  // ---- the README's examples, sent as a new site would ----
  const EX = {
    orm: { uid: '2.25.301728395614972309841726354092871620001', acc: 'RAD-EX-0001', ind: 'Cough and fever for three days, rule out pneumonia' },
    omi: { uid: '2.25.301728395614972309841726354092871620011', acc: 'RAD-EX-0002', ind: 'Shortness of breath, follow-up of the pneumonia of June 2025' },
    misfiled: { uid: '2.25.301728395614972309841726354092871620021', acc: 'RAD-EX-0003', ind: 'Chest pain after a fall' },
  };
  const sampleDir = join(TMP, 'samples');
  await step('examples: ORM^O01 and OMI^O23 by mllp_send, sample CRs by storescu', async () => {
    run('examples/make-sample-crs.sh', [sampleDir]);
    for (const f of ['examples/orm-o01.hl7', 'examples/omi-o23.hl7']) {
      // exactly the README's command (no --loose: the files are MLLP-framed)
      const out = run('mllp_send', ['-p', String(mllpPort), '-f', f, '127.0.0.1']);
      assert(/MSA\|AA/.test(out), `${f}: ACK is not AA: ${out.replace(/\r/g, '\n')}`);
    }
    for (const f of ['sample-cr-orm.dcm', 'sample-cr-omi.dcm']) run('storescu', ['-aet', 'E2ESCU', '-aec', 'RADRAFT', '127.0.0.1', String(dicomPort), join(sampleDir, f)]);
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

  await step('examples drafted with the indication of their order', async () => {
    for (const ex of [EX.orm, EX.omi]) {
      const ai = await waitDraft(api, ex.uid, (d) => d.indication === ex.ind);
      assert(ai.indication_source === 'hl7:OBR-31', `${ex.acc}: indication source ${ai.indication_source}`);
    }
  }, ['examples: ORM^O01 and OMI^O23 by mllp_send, sample CRs by storescu', 'AI draft appears (demo model)']);

  // ---- browser ----
  const { ctx, profile } = await launch();
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  failPage = page;
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // The server's Content-Security-Policy must not block any part of the UI.
  const cspViolations = [];
  ctx.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${m.page()?.url() ?? '?'} (${m.location()?.url ?? ''}): ${m.text()}`);
  });
  let browser2 = null;

  try {
    await step('log in (radiologist)', async () => {
      const consoleErrors = [];
      const onConsole = (m) => m.type() === 'error' && consoleErrors.push(m.text());
      page.on('console', onConsole);
      await page.goto(http + '/');
      await page.waitForSelector('#username');
      await sleep(500);
      page.off('console', onConsole);
      assert(consoleErrors.length === 0, `console errors on the login page: ${consoleErrors.join(' | ')}`);
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

    await step("worklist: the order's accession shown and searched, a name difference flagged", async () => {
      // 4.dcm has no accession; the e2e order's (OBR-3 filler number) is shown, marked as the order's
      await page.goto(http + '/#/?q=FLE2E');
      const row = await page.waitForSelector(`tr[data-study-uid="${studyUID}"]`, { timeout: 15000 });
      const acc = await row.$eval('[data-testid=accession]', (td) => td.textContent);
      assert(/FLE2E/.test(acc) && /order/.test(acc), `accession cell: ${acc}`);
      // DICOM name COVID-19-AR-16406488 vs the order's COVID^E2E: the DICOM one is shown, the difference flagged
      const mm = await row.$('[data-testid=mismatch-patient_name]');
      assert(mm && /COVID, E2E/.test(await mm.textContent()), 'no name-mismatch flag');
      assert((await page.$$('tbody tr')).length === 1, 'q=FLE2E finds more than the study');
      await shot(page, '02b-worklist-order-accession');
      await page.goto(http + '/#/');
      await page.waitForSelector(`tr[data-study-uid="${studyUID}"]`);
    }, ['worklist lists the study']);

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
      // the window as the file states it: WC 511, WW 1023
      assert(/WC 511\b/.test(ro) && /WW 1023\b/.test(ro), `readout does not say the file's window (WC 511 WW 1023): ${ro}`);
      const cal = await page.textContent('[data-testid=calibration]');
      assert(/Pixel Spacing 0\.2 mm/.test(cal), `calibration shown: ${cal}`);
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

    await step('distance measurement (calibrated) and magnifier', async () => {
      await page.keyboard.press('f');
      await page.keyboard.press('l');
      const [x0, y0] = await page.evaluate(() => window.__radraftViewer.imageFractionToClient(0.3, 0.5));
      const [x1, y1] = await page.evaluate(() => window.__radraftViewer.imageFractionToClient(0.7, 0.5));
      await page.mouse.move(x0, y0);
      await page.mouse.down();
      for (let i = 1; i <= 12; i++) await page.mouse.move(x0 + ((x1 - x0) * i) / 12, y0 + ((y1 - y0) * i) / 12);
      await page.mouse.up();
      // 0.4 of 1760 columns at 0.2 mm = 140.8 mm (a pixel of slack at each end)
      const txt = await until('a measurement', async () => {
        const t = await page.textContent('[data-testid=measurement]');
        return /mm/.test(t) ? t : null;
      }, 5000, 100);
      const mm = Number(txt.match(/([\d.]+) mm/)[1]);
      const tol = (2 * 0.2 * 1760) / Math.abs(x1 - x0);
      assert(Math.abs(mm - 140.8) <= tol + 0.2, `measured ${mm} mm, want 140.8 ± ${tol.toFixed(1)}`);
      await shot(page, '04b-measure');
      await page.keyboard.press('x');
      const [mx, my] = await page.evaluate(() => window.__radraftViewer.imageFractionToClient(0.3, 0.4));
      await page.mouse.move(mx, my);
      await page.mouse.down();
      await page.mouse.move(mx + 3, my + 2);
      const loupe = await page.waitForSelector('[data-testid=magnifier]:not([hidden])', { timeout: 5000 });
      const b = await loupe.boundingBox();
      const img = decodePNG(await page.screenshot());
      const d = await page.evaluate(() => window.devicePixelRatio);
      const std = regionStd(img, (b.x + 20) * d, (b.y + 20) * d, (b.x + b.width - 20) * d, (b.y + b.height - 20) * d);
      assert(std > 3, `the magnifier looks blank (std ${std})`);
      await shot(page, '04c-magnifier');
      await page.mouse.up();
      await page.keyboard.press('w');
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
      const vb = await page.$eval('.viewer-pane .vp-wrap', (e) => e.getBoundingClientRect().toJSON());
      const eb = await page.$eval('.editor-pane', (e) => e.getBoundingClientRect().toJSON());
      assert(vb.width >= 0.62 * 1920 && vb.height >= 0.8 * 1080, `viewer is ${vb.width.toFixed(0)}x${vb.height.toFixed(0)} at 1920x1080`);
      assert(eb.left >= vb.right && eb.top < vb.bottom, 'the editor is not beside the image');
      await page.keyboard.press('?');
      await page.waitForSelector('#help-dialog[open]');
      await shot(page, '11-help');
      await page.keyboard.press('Escape');
      await page.setViewportSize({ width: 1366, height: 768 });
    }, ['open the study from the keyboard']);

    // ---- orders that went wrong: visible, corrected, cancelled ----
    let misfiledOrder = 0;
    await step('misfiled order: listed as unmatched, study in the no-indication filter', async () => {
      // The accession sent in OBR-17 and the indication in OBR-29 (both off by one): answered AA,
      // stored, matched to nothing (the accession falls back to OBR-3, the filler number).
      const misfiledFile = join(sampleDir, 'sample-cr-misfiled.dcm');
      copyFileSync(join(sampleDir, 'sample-cr-orm.dcm'), misfiledFile);
      // another study of the example patient, without Pixel Spacing nor Imager Pixel Spacing
      run('dcmodify', ['-q', '-nb', '-ie',
        '-m', `(0020,000d)=${EX.misfiled.uid}`, '-m', '(0020,000e)=2.25.301728395614972309841726354092871620022',
        '-m', '(0008,0018)=2.25.301728395614972309841726354092871620023', '-m', `(0008,0050)=${EX.misfiled.acc}`,
        '-m', '(0008,0020)=20261201', '-e', '(0028,0030)', '-e', '(0018,1164)', misfiledFile]);
      const ack = await mllp(mllpPort, orderMsg('ORM^O01', 'NW', 'MIS1', { 17: EX.misfiled.acc, 29: `^${EX.misfiled.ind}` }));
      assert(/MSA\|AA/.test(ack), `misfiled order ACK: ${ack}`);
      run('storescu', ['-aet', 'E2ESCU', '-aec', 'RADRAFT', '127.0.0.1', String(dicomPort), misfiledFile]);
      const ai = await waitDraft(api, EX.misfiled.uid, () => true);
      assert((ai.indication ?? '') === '', `drafted with indication ${JSON.stringify(ai.indication)}`);
      const att = await api.req('GET', '/orders/attention?min_age=0s');
      const o = att.data.unmatched_orders.find((x) => x.placer_order_number === 'PL-EX-MIS1');
      assert(o && o.accession_source === 'OBR-3' && o.patient_studies.includes(EX.misfiled.uid), `attention: ${JSON.stringify(att.data).slice(0, 400)}`);
      misfiledOrder = o.id;
      assert(att.data.studies_without_indication.some((x) => x.study_uid === EX.misfiled.uid), 'study not listed as drafted without indication');
      await page.goto(http + '/#/orders?min_age=0s');
      await page.waitForSelector(`[data-testid=unmatched-orders] tr[data-order-id="${o.id}"]`);
      await page.waitForSelector(`[data-testid=no-indication] tr[data-study-uid="${EX.misfiled.uid}"]`);
      await shot(page, '20-orders-attention');
      await page.goto(http + '/#/?order_issue=no_indication');
      await page.waitForSelector(`tr[data-study-uid="${EX.misfiled.uid}"]`);
      assert((await page.$(`tr[data-study-uid="${EX.orm.uid}"]`)) === null, 'a study drafted with its indication is in the no-indication filter');
      await shot(page, '21-worklist-no-indication');
    }, ['examples drafted with the indication of their order', 'log in (radiologist)']);

    await step('XO corrects the first order (no second one) and the study is redrafted', async () => {
      const ack = await mllp(mllpPort, orderMsg('ORM^O01', 'XO', 'MIS1', { 18: EX.misfiled.acc, 31: `^${EX.misfiled.ind}` }));
      assert(/MSA\|AA/.test(ack), `XO ACK: ${ack}`);
      const ai = await waitDraft(api, EX.misfiled.uid, (d) => d.indication === EX.misfiled.ind);
      assert(ai.indication_source === 'hl7:OBR-31', `source ${ai.indication_source}`);
      const st = (await api.req('GET', `/studies/${EX.misfiled.uid}`)).data;
      assert(st.order?.id === misfiledOrder && st.order.version === 2, `order after XO: ${JSON.stringify(st.order)} (first was ${misfiledOrder})`);
      const att = await api.req('GET', '/orders/attention?min_age=0s');
      assert(!att.data.unmatched_orders.some((x) => x.placer_order_number === 'PL-EX-MIS1'), 'the corrected order is still unmatched');
    }, ['misfiled order: listed as unmatched, study in the no-indication filter']);

    await step('an uncalibrated image says so', async () => {
      await page.goto(`${http}/#/study/${encodeURIComponent(EX.misfiled.uid)}`);
      await page.waitForSelector('[data-testid=viewport][data-loaded=true]', { timeout: 60000 });
      await until('calibration text', async () => /uncalibrated/.test(await page.textContent('[data-testid=calibration]')), 5000, 100);
    }, ['misfiled order: listed as unmatched, study in the no-indication filter']);

    await step('CA withdraws the unsigned AI draft: worklist and study show it', async () => {
      const ack = await mllp(mllpPort, orderMsg('ORM^O01', 'CA', 'MIS1', { 18: EX.misfiled.acc }));
      assert(/MSA\|AA/.test(ack), `CA ACK: ${ack}`);
      await page.goto(http + '/#/?status=cancelled');
      const row = await page.waitForSelector(`tr[data-study-uid="${EX.misfiled.uid}"] [data-status=cancelled]`, { timeout: 15000 });
      assert(/Order cancelled/.test(await row.textContent()), 'badge text');
      await shot(page, '22-worklist-cancelled');
      await page.goto(`${http}/#/study/${encodeURIComponent(EX.misfiled.uid)}`);
      await page.waitForSelector('[data-testid=order-cancelled]');
      await shot(page, '23-study-cancelled');
    }, ['XO corrects the first order (no second one) and the study is redrafted']);

    await step('priors: the signed prior opened side by side', async () => {
      // rad1 signs the older example study (the ORM one)
      const r = await api.req('GET', `/studies/${EX.orm.uid}/report`);
      const signedText = 'Right lower lobe consolidation, in keeping with pneumonia. No pleural effusion.';
      const sg = await api.req('POST', `/studies/${EX.orm.uid}/report/sign`, { findings: signedText }, { 'If-Match': r.etag });
      assert(sg.status === 200, `sign the prior: ${sg.status} ${JSON.stringify(sg.data)}`);
      await page.setViewportSize({ width: 1920, height: 1080 });
      await page.goto(`${http}/#/study/${encodeURIComponent(EX.omi.uid)}`);
      const li = await page.waitForSelector(`[data-testid=priors] li[data-prior-uid="${EX.orm.uid}"]`, { timeout: 15000 });
      assert(/signed by rad1/.test(await li.textContent()), `prior entry: ${await li.textContent()}`);
      await li.$eval('button', (b) => b.click());
      await page.waitForSelector('[data-testid=prior-viewport][data-loaded=true]', { timeout: 60000 });
      const rep = await page.textContent('[data-testid=prior-report]');
      assert(rep.includes(signedText) && rep.includes('rad1'), `prior report: ${rep}`);
      await sleep(500);
      await shot(page, '24-priors-side-by-side');
      await page.setViewportSize({ width: 1366, height: 768 });
    }, ['examples drafted with the indication of their order', 'log in (radiologist)']);

    await step('openapi.json is public', async () => {
      const r = await fetch(http + '/api/v1/openapi.json');
      assert(r.status === 200 && (await r.json()).paths['/auth/login'], `anonymous openapi.json: ${r.status}`);
    });

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
      const qrow = await qp.textContent(`tr[data-flag-id="${flagId}"]`);
      assert(/Acc\. FLE2E/.test(qrow) && /MRN COVID-19-AR-16406488/.test(qrow) && /by rad1/.test(qrow) && !/…/.test(qrow), `queue row names the study by: ${qrow}`);
      await qp.click(`tr[data-flag-id="${flagId}"]`);
      await qp.waitForSelector('[data-testid=disposition]');
      const h1 = await qp.textContent('h1');
      assert(/Acc\. FLE2E/.test(h1) && /COVID-19-AR-16406488/.test(h1), `flag heading: ${h1}`);
      assert(/rad1's text/.test(await qp.textContent('.side-by-side')), "the reference is not named as rad1's text");
      // the disposition form: a roomy note field under its label
      const lab = await qp.$eval('label[for=disp-note]', (e) => e.getBoundingClientRect().toJSON());
      const ta = await qp.$eval('[data-testid=disposition-note]', (e) => e.getBoundingClientRect().toJSON());
      assert(ta.top >= lab.bottom && ta.height >= 90 && ta.width >= 400, `note field ${JSON.stringify(ta)} under label ${JSON.stringify(lab)}`);
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
      for (const labels of await qp.$$eval('svg.chart', (svgs) => svgs.map((g) => [...g.querySelectorAll('text.tick[text-anchor=end]')].map((t) => t.textContent)))) {
        assert(new Set(labels).size === labels.length, `repeated axis ticks: ${labels.join(', ')}`);
      }
      await shot(qp, '14-qa-metrics');
      // role: a QA lead cannot sign
      await qp.goto(`${http}/#/study/${encodeURIComponent(studyUID)}`);
      await qp.waitForSelector('[data-testid=findings]');
      assert((await qp.$('[data-testid=sign]')) === null && (await qp.$('[data-testid=amend]')) === null, 'QA lead sees sign/amend');
      // whose text it is: the signing radiologist's, never "yours" to the QA lead
      const legend = await qp.textContent('#ai-legend');
      const tags = await qp.$$eval('[data-testid=sentences] li[data-owner=human] .tag', (l) => l.map((x) => x.textContent));
      assert(/plain text is rad1's/.test(legend) && !/yours/i.test(legend), `legend: ${legend}`);
      assert(tags.length > 0 && tags.every((t) => t === "rad1's"), `sentence tags: ${tags.join(', ')}`);
      await shot(qp, '15-qa-study-whose-text');
      await qctx.close();
    }, ['QA flag raised after signing']);

    await step('leaving a study while it loads stops its poll and beforeunload handler', async () => {
      // Hold the editor's first report read, go elsewhere, then answer it
      // "404, no draft yet" (which starts the editor's 3 s poll). The route's
      // AbortSignal must have cancelled the read and destroyed the editor.
      const p = await ctx.newPage();
      p.on('pageerror', (e) => pageErrors.push(e.message));
      const reportGET = /\/api\/v1\/studies\/[^/]+\/report$/;
      let left = false;
      let readsAfterLeaving = 0;
      await p.route(reportGET, async (r) => {
        if (r.request().method() !== 'GET') return r.continue();
        if (left) {
          readsAfterLeaving++;
          return r.continue();
        }
        await sleep(1500);
        await r.fulfill({ status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"no report"}}' }).catch(() => {});
      });
      const asked = p.waitForRequest(reportGET);
      await p.goto(http + '/#/study/' + encodeURIComponent(studyUID));
      await asked;
      await p.evaluate(() => (location.hash = '#/orders'));
      left = true;
      await p.waitForSelector('h1');
      await sleep(5000); // the 1.5 s hold plus more than one 3 s poll period
      const cdp = await ctx.newCDPSession(p);
      const { result } = await cdp.send('Runtime.evaluate', { expression: 'window' });
      const { listeners } = await cdp.send('DOMDebugger.getEventListeners', { objectId: result.objectId });
      const onUnload = listeners.filter((l) => l.type === 'beforeunload').length;
      await p.close();
      assert(readsAfterLeaving === 0, `the left study's editor still polls its report (${readsAfterLeaving} reads after leaving)`);
      assert(onUnload === 0, `${onUnload} beforeunload handler(s) left by the study page`);
    }, ['open the study from the keyboard']);

    await step('no uncaught page errors', async () => {
      assert(pageErrors.length === 0, pageErrors.join('\n'));
    });
    await step('no Content-Security-Policy violations', async () => {
      assert(cspViolations.length === 0, cspViolations.join('\n'));
    });
  } finally {
    await ctx.close().catch(() => {});
    await browser2?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Waits for the study's AI draft satisfying ok(ai_draft); returns it. */
async function waitDraft(client, uid, ok) {
  return until(
    `the AI draft of ${uid}`,
    async () => {
      const r = await client.req('GET', `/studies/${uid}/report`);
      const ai = r.status === 200 ? r.data?.ai_draft : null;
      return ai?.findings && ok(ai) ? ai : null;
    },
    240000,
    1000,
  );
}

/** An order for the example patient (placer PL-EX-<id>, filler FL-EX-<id>) with OBR fields set by number. */
function orderMsg(type, control, id, obrFields) {
  const ts = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const obr = ['OBR', '1', `PL-EX-${id}^RIS`, `FL-EX-${id}^RAD`, '71046^XR CHEST 2 VIEWS^CPT4'];
  while (obr.length < 32) obr.push('');
  for (const [k, v] of Object.entries(obrFields)) obr[Number(k)] = v;
  return [
    `MSH|^~\\&|RIS|EXAMPLEHOSP|RADRAFT|EXAMPLEHOSP|${ts}||${type}|E2E-${id}-${control}-${Date.now()}|P|2.3`,
    'PID|1||EX-MRN-0001^^^EXAMPLEHOSP^MR||EXAMPLE^ALEX||19600101|M',
    `ORC|${control}|PL-EX-${id}^RIS|FL-EX-${id}^RAD||SC`,
    obr.join('|'),
  ].join('\r');
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
