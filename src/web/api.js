// The a51 API as the pages use it: the bearer token kept in sessionStorage (this
// tab only, forgotten when it closes), problem+json errors turned into ApiError,
// jobs polled to their end, CSV exports and streamed uploads.

const TOKEN_KEY = 'a51.token';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  set(token) { sessionStorage.setItem(TOKEN_KEY, token); },
  clear() { sessionStorage.clear(); },
  get(key) { return sessionStorage.getItem('a51.' + key); },
  put(key, value) { sessionStorage.setItem('a51.' + key, value); },
};

// An answer that is not 2xx. problem is the RFC 9457 document when the API sent
// one ({type, title, status, detail, errors: [{field|line, column, reason}]}).
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || 'HTTP ' + status);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

async function problemOf(res) {
  const type = res.headers.get('Content-Type') || '';
  if (type.includes('json')) {
    try { return await res.json(); } catch { /* not JSON after all */ }
  }
  return { status: res.status, title: res.statusText };
}

function authHeaders(extra) {
  const headers = { Accept: 'application/json' };
  const token = session.token();
  if (token) headers.Authorization = 'Bearer ' + token;
  return { ...headers, ...extra };
}

async function send(path, { method = 'GET', body, headers = {}, signal } = {}) {
  const h = authHeaders(headers);
  let payload = body;
  if (body !== undefined && !(body instanceof Blob) && typeof body !== 'string') {
    payload = JSON.stringify(body);
    h['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, { method, headers: h, body: payload, signal, cache: 'no-store', credentials: 'omit' });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, { title: 'Serveur injoignable', detail: 'a51 ne répond pas (' + e.message + ').' });
  }
  if (res.status === 401 && session.token()) window.dispatchEvent(new CustomEvent('a51:unauthorized'));
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  return res;
}

// GET (or another method with a JSON body) answering the parsed JSON.
export async function api(path, options) {
  const res = await send(path, options);
  if (res.status === 204) return null;
  const json = await res.json();
  return json;
}

// The same, keeping the status and headers (202 + Location for jobs).
export async function apiResponse(path, options) {
  const res = await send(path, options);
  return { status: res.status, headers: res.headers, body: res.status === 204 ? null : await res.json() };
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(t); reject(new DOMException('aborted', 'AbortError')); });
});

// Polls a job until it ends; onProgress(job) after each look. Resolves with the
// succeeded job, rejects with an ApiError saying why it failed or was cancelled.
export async function waitJob(job, { onProgress, signal } = {}) {
  let delay = 150;
  for (;;) {
    onProgress?.(job);
    if (job.status === 'succeeded') return job;
    if (job.status === 'failed' || job.status === 'cancelled') {
      throw new ApiError(422, {
        title: job.status === 'failed' ? 'Le calcul a échoué' : 'Le calcul a été annulé',
        detail: job.error || job.message || '',
      });
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 1.5, 1000);
    job = await api(job.url || '/v1/jobs/' + job.id, { signal });
  }
}

// Downloads an export (CSV) with the token: a plain link cannot carry it.
export async function download(path, fallbackName) {
  const res = await send(path, { headers: { Accept: 'text/csv' } });
  const blob = await res.blob();
  const cd = res.headers.get('Content-Disposition') || '';
  const m = /filename="?([^";]+)"?/i.exec(cd);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = m ? m[1] : fallbackName;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  return a.download;
}

function randomKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// Streams a file to an upload route. XMLHttpRequest rather than fetch: it
// reports the upload's progress, which matters for files of hundreds of MB.
// Resolves with {status, body} whatever the status (a 422 carries the line errors).
export function uploadFile(path, file, { contentType, onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    const headers = authHeaders({ 'Content-Type': contentType, 'Idempotency-Key': 'ui-' + randomKey() });
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress?.(e.loaded / e.total); };
    xhr.onload = () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = { title: xhr.statusText }; }
      if (xhr.status === 401) window.dispatchEvent(new CustomEvent('a51:unauthorized'));
      resolve({ status: xhr.status, body });
    };
    xhr.onerror = () => reject(new ApiError(0, { title: 'Envoi interrompu', detail: 'la connexion à a51 a été perdue' }));
    xhr.onabort = () => reject(new DOMException('aborted', 'AbortError'));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}
