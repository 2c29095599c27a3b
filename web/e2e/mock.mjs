// Development aid only (not a test): serves dist/ with a tiny in-memory
// imitation of the API so the UI can be looked at without a backend.
//   node e2e/mock.mjs [port]   then open http://127.0.0.1:PORT/#/study/1.2.3
import { createServer } from 'node:http';
import { readFileSync, existsSync, statSync } from 'node:fs';
import { join, extname } from 'node:path';
import { execSync } from 'node:child_process';

const port = Number(process.argv[2] ?? 5179);
const dist = new URL('../dist/', import.meta.url).pathname;
const dcm = process.env.MOCK_DCM ?? join(execSync("go list -m -f '{{.Dir}}' github.com/suyashkumar/dicom", { cwd: new URL('../..', import.meta.url).pathname }).toString().trim(), 'testdata/4.dcm');
const AI = 'The lungs are clear. There is no pleural effusion. Heart size is normal.';
let version = 1;
let findings = AI;
let accepted = [];
let status = 'draft';
const versions = [{ version: 1, kind: 'ai_draft', author: 'ai', findings: AI, created_at: new Date().toISOString(), model_name: 'radraft-demo', model_version: '0.1' }];
const cur = () => versions[versions.length - 1];
const report = () => ({
  id: 'r1', study_uid: '1.2.3', status, current_version: version, ai_version: 1, versions, etag: `"v${version}"`,
  ai_draft: versions[0], current: { ...cur(), accepted_sentences: accepted }, sentences: [], ai_sentences: 0,
});
const addVersion = (kind, author, text, reason = '') => {
  version++;
  findings = text;
  versions.push({ version, kind, author, findings: text, reason, accepted_sentences: accepted, created_at: new Date().toISOString() });
};
const types = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.wasm': 'application/wasm' };
createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const json = (code, body, hdr = {}) => { res.writeHead(code, { 'Content-Type': 'application/json', ...hdr }); res.end(JSON.stringify(body)); };
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const p = u.pathname;
    if (p === '/api/v1/auth/me' || p === '/api/v1/auth/login') return json(200, { user: { username: 'rad', role: u.searchParams.get('role') ?? 'radiologist' }, csrf_token: 't' });
    if (p === '/api/v1/worklist') return json(200, { items: [{ study_uid: '1.2.3', patient_name: 'DOE^JANE', patient_id: 'MRN1', accession_number: 'ACC1', study_date: '2026-11-20', indication: 'cough', status: status === 'draft' ? 'drafted' : status, study_state: 'drafted', qa_flag: null }] });
    if (p === '/api/v1/studies/1.2.3') return json(200, { study_uid: '1.2.3', patient_name: 'DOE^JANE', patient_id: 'MRN1', accession_number: 'ACC1', study_date: '2026-11-20', study_description: 'XR CHEST AP', state: 'drafted', indication: { text: 'cough', source: 'OBR-31' }, frontal_sop_instance_uid: '9', view_reason: 'only image', series: [{ series_uid: '8', modality: 'CR', instances: [{ sop_instance_uid: '9', photometric: 'MONOCHROME1' }] }] });
    if (p.endsWith('/instances/9/file')) { res.writeHead(200, { 'Content-Type': 'application/dicom' }); return res.end(readFileSync(dcm)); }
    if (p === '/api/v1/studies/1.2.3/report') {
      if (req.method === 'GET') return json(200, report(), { ETag: `"v${version}"` });
      if (req.method === 'PUT') {
        if (req.headers['if-match'] !== `"v${version}"`) return json(412, { error: { code: 'version_conflict', message: 'changed' }, current: report() }, { ETag: `"v${version}"` });
        const b = JSON.parse(body); accepted = b.accepted_sentences ?? accepted; addVersion('edit', 'rad', b.findings);
        return json(200, report(), { ETag: `"v${version}"` });
      }
    }
    if (p === '/api/v1/studies/1.2.3/report/sign') { status = 'signed'; addVersion('sign', 'rad', findings); return json(200, report(), { ETag: `"v${version}"` }); }
    if (p === '/api/v1/studies/1.2.3/report/amend') { const b = JSON.parse(body); status = 'amended'; addVersion('amend', 'rad', b.findings, b.reason); return json(200, report(), { ETag: `"v${version}"` }); }
    if (p === '/__bump') { addVersion('edit', 'other', findings + ' Edited elsewhere.'); return json(200, report()); }
    if (p.startsWith('/api/')) return json(404, { error: { code: 'not_found', message: 'mock' } });
    let f = join(dist, p === '/' ? 'index.html' : p);
    if (!existsSync(f) || statSync(f).isDirectory()) f = join(dist, 'index.html');
    res.writeHead(200, { 'Content-Type': types[extname(f)] ?? 'application/octet-stream' });
    res.end(readFileSync(f));
  });
}).listen(port, '127.0.0.1', () => console.log(`mock on http://127.0.0.1:${port}`));
