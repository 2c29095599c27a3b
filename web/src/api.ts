// REST client for /api/v1 (same origin, session cookie). Writes carry the
// CSRF token from login in X-CSRF-Token. Errors are the API's JSON
// {"error":{"code","message"}} turned into ApiError.

import type { components, paths } from './api.gen';

export const BASE = '/api/v1';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public body: unknown = null,
    public etag: string | null = null,
  ) {
    super(message);
  }
}

const store: Storage | null = typeof sessionStorage === 'undefined' ? null : sessionStorage;
let csrf = store?.getItem('radraft.csrf') ?? '';
export function setCsrf(t: string): void {
  csrf = t;
  if (t) store?.setItem('radraft.csrf', t);
  else store?.removeItem('radraft.csrf');
}

/** Called on any 401 (session gone): the app goes to the login page. */
export let onUnauthorized: () => void = () => {};
export function setOnUnauthorized(f: () => void): void {
  onUnauthorized = f;
}

export interface Resp<T> {
  data: T;
  etag: string | null;
  status: number;
}

/** One request; signal (the route's) cancels it, rejecting with its AbortError. */
export async function call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Resp<T>> {
  const h: Record<string, string> = { Accept: 'application/json', ...headers };
  if (body !== undefined) h['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrf) h['X-CSRF-Token'] = csrf;
  let res: Response;
  try {
    res = await fetch(BASE + path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal,
    });
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    throw new ApiError(0, 'network', 'The server cannot be reached. Your text is kept in this browser until it can.');
  }
  const etag = res.headers.get('ETag');
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    const e = new ApiError(res.status, err?.code ?? String(res.status), err?.message ?? res.statusText, data, etag);
    if (res.status === 401 && !path.startsWith('/auth/')) onUnauthorized();
    throw e;
  }
  const tok = res.headers.get('X-CSRF-Token');
  if (tok) setCsrf(tok);
  return { data: data as T, etag, status: res.status };
}

export const get = <T>(p: string, signal?: AbortSignal) => call<T>('GET', p, undefined, {}, signal).then((r) => r.data);

// ---- types ----------------------------------------------------------------
// The API's own types are generated from web/openapi.json (npm run gen:api,
// openapi-typescript), which server/openapi_file_test.go keeps equal to the
// document the server serves: a changed field fails tsc here.

export type Schemas = components['schemas'];
export type Role = Schemas['User']['role'];
export type Me = Pick<Schemas['User'], 'username' | 'role'> & { csrf_token?: string };
export type OrderIdentity = Schemas['OrderIdentity'];
export type WorklistItem = Schemas['WorklistItem'];
export type Worklist = Schemas['WorklistPage'];
export type Prior = Schemas['Prior'];
export type OrderAttention = Schemas['OrderAttention'];
export type UnmatchedOrder = OrderAttention['unmatched_orders'][number];

/** The JSON body of a GET path's 200 answer, as the API documents it. */
type GetJSON<P extends keyof paths> = paths[P] extends { get: { responses: { 200: { content: { 'application/json': infer T } } } } } ? T : never;
type WorklistParams = NonNullable<paths['/worklist']['get']['parameters']['query']>;

export interface Instance {
  sop_instance_uid: string;
  instance_number?: string;
  view_position?: string;
  photometric?: string;
  rows?: number;
  columns?: number;
  file_url?: string;
  preview_url?: string;
}

export interface Series {
  series_uid: string;
  modality: string;
  series_number?: string;
  series_description?: string;
  instances: Instance[];
}

export interface StudyDetail extends OrderIdentity {
  study_uid: string;
  patient_name: string;
  patient_id: string;
  patient_birth_date?: string;
  patient_sex?: string;
  accession_number: string;
  study_date: string | null;
  study_description: string;
  state: string;
  state_reason?: string;
  indication: string;
  indication_source: string;
  order?: { procedure?: string; procedure_text?: string; indication?: string; accession_number?: string; order_control?: string; cancelled?: boolean; [k: string]: unknown } | null;
  frontal_sop_instance_uid: string | null;
  view_reason: string;
  series: Series[];
}

export type Version = Schemas['ReportVersion'];
type WireReport = Schemas['Report'];

export interface Report {
  study_uid: string;
  status: string; // draft | signed | amended
  current_version: number;
  findings: string;
  ai_draft: { findings: string; model_name: string; model_version: string; demo: boolean; version?: number; indication?: string; indication_source?: string } | null;
  /** number of current sentences still the AI's, as the server counts them */
  ai_sentences?: number;
  accepted_sentences?: string[];
  signed_by?: string | null;
  signed_at?: string | null;
  versions: Version[];
  etag?: string;
}

// ---- normalisers: tolerate the server's spelling -------------------------

type Any = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function pick(o: Any | null | undefined, ...keys: string[]): any {
  if (!o) return undefined;
  for (const k of keys) if (o[k] !== undefined && o[k] !== null) return o[k];
  return undefined;
}

/** The editor's view of the API's report: the current text and the AI draft flattened. */
export function normReport(r: WireReport, etag: string | null): Report {
  const ai = r.ai_draft;
  return {
    study_uid: r.study_uid,
    status: r.status,
    current_version: r.current_version,
    findings: r.current?.findings ?? '',
    ai_draft: ai
      ? {
          findings: ai.findings,
          model_name: ai.model_name ?? '',
          model_version: ai.model_version ?? '',
          demo: ai.demo,
          version: ai.version,
          indication: ai.indication,
          indication_source: ai.indication_source,
        }
      : null,
    ai_sentences: r.ai_sentences,
    accepted_sentences: r.current?.accepted_sentences ?? undefined,
    signed_by: r.signed_by ?? null,
    signed_at: r.signed_at ?? null,
    versions: r.versions,
    etag: etag ?? r.etag,
  };
}

// ---- endpoints -------------------------------------------------------------

export async function login(username: string, password: string): Promise<Me> {
  const r = await call<Any>('POST', '/auth/login', { username, password });
  const d = r.data ?? {};
  const u = (d.user ?? d) as Any;
  const tok = pick(d, 'csrf_token', 'csrfToken') ?? pick(u, 'csrf_token');
  if (tok) setCsrf(tok);
  return { username: u.username ?? username, role: u.role, csrf_token: tok };
}

/** The logged-in user; null when not logged in, undefined when the server has no /auth/me. */
export async function me(): Promise<Me | null | undefined> {
  try {
    // /auth/session answers 200 with or without a session: no 401 in the
    // console of the login page.
    const d = await get<Any>('/auth/session');
    if (d.authenticated === false) return null;
    const u = (d.user ?? d) as Any;
    const tok = pick(d, 'csrf_token', 'csrfToken');
    if (tok) setCsrf(tok);
    return { username: u.username, role: u.role };
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    if (e instanceof ApiError && (e.status === 404 || e.status === 405)) return undefined;
    throw e;
  }
}

export async function logout(): Promise<void> {
  try {
    await call('POST', '/auth/logout');
  } finally {
    setCsrf('');
  }
}

/**
 * The worklist's filters as the UI holds them: the API's parameter names,
 * '' for "any"; sort "-study_date" means sort=study_date&order=desc.
 */
export type WorklistQuery = { [K in Exclude<keyof WorklistParams, 'order' | 'sort' | 'limit'>]?: string } & { sort?: string; limit?: number };

function qs(q: Record<string, unknown>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export async function worklist(q: WorklistQuery, signal?: AbortSignal): Promise<Worklist> {
  // UI sort "-study_date" = API sort=study_date&order=desc
  const sort = q.sort ?? '-study_date';
  const params: Record<string, unknown> = { ...q, sort: sort.replace(/^-/, ''), order: sort.startsWith('-') ? 'desc' : 'asc' };
  return get<GetJSON<'/worklist'>>('/worklist' + qs(params), signal);
}

export async function study(uid: string, signal?: AbortSignal): Promise<StudyDetail> {
  const d = await get<Any>(`/studies/${encodeURIComponent(uid)}`, signal);
  const st = (d.study ?? d) as Any;
  const order = (d.order ?? st.order ?? null) as Any | null;
  const frontal = d.frontal ?? st.frontal;
  return {
    ...st,
    study_uid: st.study_uid,
    patient_name: st.patient_name ?? pick(st.patient, 'name') ?? '',
    patient_id: st.patient_id ?? pick(st.patient, 'id', 'mrn') ?? '',
    accession_number: st.accession_number ?? '',
    study_date: st.study_date ?? null,
    study_description: st.study_description ?? '',
    state: st.state ?? '',
    indication: indText(pick(d, 'indication') ?? pick(st, 'indication')) ?? pick(order, 'indication') ?? '',
    indication_source:
      pick(d, 'indication_source') ?? pick(st, 'indication_source') ?? indSource(pick(d, 'indication') ?? pick(st, 'indication')) ?? pick(order, 'indication_source') ?? '',
    order,
    frontal_sop_instance_uid: (typeof frontal === 'object' && frontal ? frontal.sop_instance_uid : frontal) ?? st.frontal_sop_instance_uid ?? null,
    view_reason: (typeof frontal === 'object' && frontal ? frontal.reason : undefined) ?? st.view_reason ?? d.view_reason ?? '',
    series: ((d.series ?? st.series ?? []) as Any[]).map((se) => ({ ...se, instances: (se.instances ?? []) as Instance[] })) as Series[],
  } as StudyDetail;
}

function indText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object') return pick(v as Any, 'text', 'Text') ?? '';
  return String(v);
}
function indSource(v: unknown): string | undefined {
  if (v && typeof v === 'object') return pick(v as Any, 'source', 'Source');
  return undefined;
}

export function instanceFileURL(studyUID: string, inst: Instance): string {
  return inst.file_url ?? `${BASE}/studies/${encodeURIComponent(studyUID)}/instances/${encodeURIComponent(inst.sop_instance_uid)}/file`;
}

export function previewURL(studyUID: string, inst: Instance, size = 512): string {
  return inst.preview_url ?? `${BASE}/studies/${encodeURIComponent(studyUID)}/instances/${encodeURIComponent(inst.sop_instance_uid)}/preview?size=${size}`;
}

const rp = (uid: string) => `/studies/${encodeURIComponent(uid)}/report`;

export async function getReport(uid: string, signal?: AbortSignal): Promise<Report> {
  const r = await call<WireReport>('GET', rp(uid), undefined, {}, signal);
  return normReport(r.data, r.etag);
}

/** PUT with If-Match. On 412 throws ApiError whose body holds the current version. */
export async function saveReport(uid: string, etag: string, findings: string, accepted: string[]): Promise<Report> {
  const r = await call<WireReport>('PUT', rp(uid), { findings, accepted_sentences: accepted }, { 'If-Match': etag });
  return normReport(r.data, r.etag);
}

/** The current version carried by a 412 body. */
export function conflictReport(e: ApiError): Report | null {
  const cur = (e.body as { current?: WireReport } | null)?.current;
  return cur ? normReport(cur, e.etag ?? cur.etag) : null;
}

export async function signReport(uid: string, etag: string, findings?: string): Promise<Report> {
  const r = await call<WireReport>('POST', rp(uid) + '/sign', findings === undefined ? {} : { findings }, etag ? { 'If-Match': etag } : {});
  return normReport(r.data, r.etag);
}

export async function amendReport(uid: string, etag: string, findings: string, reason: string): Promise<Report> {
  const r = await call<WireReport>('POST', rp(uid) + '/amend', { findings, reason }, etag ? { 'If-Match': etag } : {});
  return normReport(r.data, r.etag);
}

export async function redraft(uid: string): Promise<void> {
  await call('POST', rp(uid) + '/redraft', {});
}

export interface CheckError {
  type: string; // A-F
  significant: boolean;
  count: number;
  sentence?: string;
  finding?: string;
  explanation?: string;
  /** indexes into the evaluation's reference (signed/radiologist) and candidate (AI) sentences */
  reference_sentences?: number[];
  candidate_sentences?: number[];
}

export interface CheckResult {
  status: string; // pending | done | failed
  id?: string;
  errors: CheckError[];
  significant_total?: number;
  evaluator?: string;
  note?: string;
  /** sentences of the radiologist's text / of the AI draft that differ */
  differing_current?: { index: number; text: string }[];
  differing_ai?: { index: number; text: string }[];
}

export function normCheck(d: Any): CheckResult {
  const src = (d.check ?? d.evaluation ?? d) as Any;
  return {
    status: src.status ?? (src.errors || src.counts ? 'done' : 'pending'),
    id: src.id ?? src.check_id,
    errors: normErrors(src),
    significant_total: src.significant_total ?? src.significant,
    evaluator: src.evaluator ?? src.judge,
    note: src.note,
    differing_current: src.differing_current,
    differing_ai: src.differing_ai,
  };
}

/** CheXprompt's six error types in order (A-F) as the API names them. */
export const ERROR_NAMES = ['false_positive_finding', 'omission_finding', 'incorrect_location', 'incorrect_severity', 'false_positive_comparison', 'omission_comparison'];
export function letterOf(t: string): string {
  const i = ERROR_NAMES.indexOf(t);
  return i >= 0 ? 'ABCDEF'[i] : t;
}

/** Errors from either a list or a counts object {significant:{A:1}, insignificant:{...}}. */
export function normErrors(src: Any): CheckError[] {
  if (Array.isArray(src.errors)) {
    return src.errors.map((e: Any) => ({
      type: letterOf(e.type ?? e.category ?? e.letter),
      significant: !!(e.significant ?? e.clinically_significant),
      count: e.count ?? 1,
      sentence: e.sentence ?? e.text,
      finding: e.finding,
      explanation: e.explanation ?? e.reason,
      reference_sentences: e.reference_sentences ?? [],
      candidate_sentences: e.candidate_sentences ?? [],
    }));
  }
  const out: CheckError[] = [];
  const counts = (src.counts ?? src) as Any;
  for (const [sig, keys] of [
    [true, ['clinically_significant', 'significant']],
    [false, ['clinically_insignificant', 'insignificant']],
  ] as const) {
    const m = pick(counts, ...keys);
    if (m && typeof m === 'object') for (const [t, n] of Object.entries(m)) if (Number(n) > 0) out.push({ type: letterOf(t), significant: sig, count: Number(n) });
  }
  return out;
}

export async function startCheck(uid: string, findings: string): Promise<CheckResult> {
  const d = await call<Any>('POST', rp(uid) + '/check', { findings });
  return normCheck(d.data ?? {});
}

export async function getCheck(uid: string, id?: string, signal?: AbortSignal): Promise<CheckResult> {
  const d = await get<Any>(rp(uid) + '/check' + (id ? `/${encodeURIComponent(id)}` : ''), signal);
  return normCheck(d ?? {});
}

// ---- QA ---------------------------------------------------------------

export interface Flag {
  id: string;
  study_uid: string;
  accession_number?: string;
  patient_name?: string;
  patient_id?: string;
  signed_by?: string;
  status: string; // open | dispositioned ...
  disposition?: string | null;
  note?: string | null;
  model_name?: string;
  model_version?: string;
  created_at?: string;
  signed_at?: string;
  errors: CheckError[];
  judge_note?: string;
  engine?: string;
  ai_findings?: string;
  signed_findings?: string;
  [k: string]: unknown;
}

export function normFlag2(f: Any): Flag {
  return {
    ...f,
    id: String(f.id ?? f.flag_id),
    study_uid: f.study_uid,
    status: f.status ?? (f.disposition ? 'dispositioned' : 'open'),
    errors: Array.isArray(f.errors) ? normErrors(f) : normErrors(f.evaluation ?? f),
    note: f.note ?? '',
    judge_note: f.evaluation?.note ?? '',
    engine: f.engine ?? f.evaluation?.engine,
    ai_findings: f.ai_findings ?? f.candidate ?? pick(f.ai_draft, 'findings'),
    signed_findings: f.signed_findings ?? f.reference ?? pick(f.signed, 'findings'),
  };
}

export async function flags(q: Record<string, unknown>, signal?: AbortSignal): Promise<{ items: Flag[]; next_cursor: string | null }> {
  const d = await get<Any>('/qa/flags' + qs(q), signal);
  const items = (d.items ?? d.flags ?? []) as Any[];
  return { items: items.map(normFlag2), next_cursor: d.next_cursor ?? null };
}

export async function flag(id: string, signal?: AbortSignal): Promise<Flag> {
  const d = await get<Any>(`/qa/flags/${encodeURIComponent(id)}`, signal);
  return normFlag2(d.flag ?? d);
}

export async function dispose(id: string, disposition: string, note: string): Promise<Flag> {
  const r = await call<Any>('POST', `/qa/flags/${encodeURIComponent(id)}/disposition`, { disposition, note });
  return normFlag2((r.data as Any)?.flag ?? r.data ?? {});
}

export interface MetricRow {
  week: string;
  model_version: string;
  evaluated: number;
  /** drafts free of clinically significant errors */
  error_free: number;
  flagged: number;
  /** clinically significant errors per type letter (A-F): counts */
  sig_by_type: Record<string, number>;
}

export async function metrics(q: Record<string, unknown> = {}, signal?: AbortSignal): Promise<{ rows: MetricRow[]; note: string }> {
  const d = await get<Any>('/qa/metrics' + qs(q), signal);
  const rows = (d.weeks ?? d.items ?? d.rows ?? []) as Any[];
  return {
    note: d.note ?? '',
    rows: rows.map((r) => {
      const evaluated = Number(r.evaluated ?? r.total ?? 0);
      const sig: Record<string, number> = {};
      const mean = (r.mean_significant ?? {}) as Record<string, number>;
      for (const [t, v] of Object.entries(mean)) sig[letterOf(t)] = Math.round(Number(v) * evaluated);
      const ef = r.free_of_significant ?? (Number.isInteger(r.error_free) ? r.error_free : Math.round(Number(r.error_free_share ?? 0) * evaluated));
      return {
        week: r.week ?? r.week_start,
        model_version: [r.model_name, r.model_version].filter(Boolean).join(' ') || '(unknown)',
        evaluated,
        error_free: Number(ef),
        flagged: Number(r.flagged ?? 0),
        sig_by_type: sig,
      };
    }),
  };
}


/** The patient's other studies (same Patient ID or the order's MRN) with their signed text. */
export async function priors(uid: string, signal?: AbortSignal): Promise<Prior[]> {
  const d = await get<GetJSON<'/studies/{studyUID}/priors'>>(`/studies/${encodeURIComponent(uid)}/priors`, signal);
  return d.items ?? [];
}



export async function ordersAttention(minAge = '', signal?: AbortSignal): Promise<OrderAttention> {
  return get<GetJSON<'/orders/attention'>>('/orders/attention' + qs({ min_age: minAge }), signal);
}
