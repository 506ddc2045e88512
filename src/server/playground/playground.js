// plait playground: plain browser JavaScript, no dependencies, served by `plait serve` at GET /.
// Talks to the server's own JSON API (snake_case): /v1/indexes, /v1/indexes/{name}/search,
// /v1/indexes/{name}/explain and /v1/rerank.
'use strict';

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, children = []) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const c of [].concat(children)) node.append(c);
  return node;
};
const fmt = (x, d = 3) => (typeof x === 'number' ? x.toFixed(d) : '–');

// With PLAIT_API_KEY set, the API wants a bearer key: asked for once, kept for this tab only.
async function api(path, body, retried = false) {
  const headers = body === undefined ? {} : { 'content-type': 'application/json' };
  const key = sessionStorage.getItem('plait-api-key');
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(path, body === undefined ? { headers } : { method: 'POST', headers, body: JSON.stringify(body) });
  if (res.status === 401 && !retried) {
    const entered = window.prompt('This server needs its API key (PLAIT_API_KEY):');
    if (entered) {
      sessionStorage.setItem('plait-api-key', entered);
      return api(path, body, true);
    }
  }
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const e = data && data.error ? data.error : { code: String(res.status), message: res.statusText };
    throw new Error(`${e.message} [${e.code}]`);
  }
  return data;
}

function setStatus(id, text, isError = false) {
  const s = $(id);
  s.textContent = text;
  s.classList.toggle('error', isError);
}

// ---- tabs ---------------------------------------------------------------------------------
for (const tab of document.querySelectorAll('.tab')) {
  tab.addEventListener('click', () => {
    for (const t of document.querySelectorAll('.tab')) {
      const on = t === tab;
      t.setAttribute('aria-selected', String(on));
      $(t.getAttribute('aria-controls')).hidden = !on;
    }
  });
}

// ---- indexes --------------------------------------------------------------------------------
async function loadIndexes() {
  try {
    const data = await api('/v1/indexes');
    const list = Array.isArray(data) ? data : data.indexes || [];
    const select = $('index');
    select.replaceChildren(...list.map((i) => el('option', { value: i.name, textContent: `${i.name} (${i.documents} ${i.documents === 1 ? 'document' : 'documents'}, ${i.model})` })));
    if (list.length === 0) setStatus('search-status', 'The server serves no index: start it with `plait serve <index>`.', true);
  } catch (e) {
    setStatus('search-status', `Cannot list indexes: ${e.message}`, true);
  }
}

// ---- search ---------------------------------------------------------------------------------
let current = { index: '', query: '', mode: '', hits: [] };

function timingsText(t) {
  if (!t) return '';
  const parts = [];
  if (Array.isArray(t.stages)) for (const s of t.stages) parts.push(`${s.stage || s.name} ${fmt(s.ms ?? s.time_ms, 1)} ms`);
  for (const [k, v] of Object.entries(t)) if (typeof v === 'number' && k.endsWith('_ms') && v > 0) parts.push(`${k.replace(/_ms$/, '')} ${fmt(v, 1)} ms`);
  return parts.join(' · ');
}

function renderHits(hits) {
  const ol = $('hits');
  ol.replaceChildren(
    ...hits.map((h, i) => {
      const text = h.text || '';
      const li = el('li', { tabIndex: 0, role: 'option' }, [
        el('div', { className: 'hit-head' }, [
          el('span', { className: 'hit-title', textContent: `${h.rank}. ${h.title || h.doc_id}` }),
          el('span', { className: 'score', textContent: fmt(h.score, 4) }),
        ]),
        el('div', { className: 'snippet', textContent: `${h.doc_id} — ${text.length > 220 ? `${text.slice(0, 220)}…` : text}` }),
      ]);
      li.dataset.i = String(i);
      li.setAttribute('aria-selected', 'false');
      li.addEventListener('click', () => selectHit(i));
      li.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); selectHit(i); }
        if (ev.key === 'ArrowDown' && li.nextElementSibling) { ev.preventDefault(); li.nextElementSibling.focus(); }
        if (ev.key === 'ArrowUp' && li.previousElementSibling) { ev.preventDefault(); li.previousElementSibling.focus(); }
      });
      return li;
    }),
  );
}

$('search-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const index = $('index').value;
  const query = $('query').value.trim();
  if (!index || !query) return;
  const body = { query, include_text: true };
  const mode = $('mode').value;
  const pipeline = $('pipeline').value.trim();
  // A pipeline's stages set the depth and the modes (the server refuses top_k and mode beside it).
  if (pipeline) body.pipeline = pipeline;
  else {
    body.top_k = Number($('top-k').value) || 10;
    if (mode) body.mode = mode;
  }
  setStatus('search-status', 'Searching…');
  try {
    const data = await api(`/v1/indexes/${encodeURIComponent(index)}/search`, body);
    const result = Array.isArray(data.results) ? data.results[0] : data;
    current = { index, query, mode, hits: result.hits || [] };
    renderHits(current.hits);
    const degraded = result.degraded ? ` — degraded at ${result.degraded.stage}: ${result.degraded.reason}` : '';
    // The server's rule for a query it cannot search (no letter or digit): no hits, and why.
    const empty = result.empty_reason ? ` Nothing to search: the query has ${result.empty_reason === 'empty-query' ? 'no text' : 'no letter or digit'} (${result.empty_reason}).` : '';
    setStatus('search-status', `${current.hits.length} ${current.hits.length === 1 ? 'result' : 'results'}.${empty} ${timingsText(result.timings)}${degraded}`);
    $('explanation').replaceChildren(el('p', { className: 'hint', textContent: 'Select a result to see its token matches.' }));
  } catch (e) {
    // An error replaces the page's results: hits of an earlier query under a new error would read as its answer.
    current = { index, query, mode, hits: [] };
    $('hits').replaceChildren();
    $('explanation').replaceChildren();
    setStatus('search-status', e.message, true);
  }
});

// ---- explanation ------------------------------------------------------------------------------
async function selectHit(i) {
  const hit = current.hits[i];
  for (const li of $('hits').children) li.setAttribute('aria-selected', String(li.dataset.i === String(i)));
  const box = $('explanation');
  box.replaceChildren(el('p', { className: 'hint', textContent: 'Explaining…' }));
  try {
    const body = { query: current.query, doc_id: hit.doc_id };
    if (current.mode) body.mode = current.mode;
    const ex = await api(`/v1/indexes/${encodeURIComponent(current.index)}/explain`, body);
    renderExplanation(ex, hit);
  } catch (e) {
    box.replaceChildren(el('p', { className: 'error', textContent: e.message }));
  }
}

function renderExplanation(ex, hit) {
  const box = $('explanation');
  // Heat: a passage token's colour is the sum of the contributions of the query tokens it won.
  const heat = new Map();
  for (const t of ex.tokens) if (t.match && t.match.start >= 0) heat.set(t.match.row, (heat.get(t.match.row) || 0) + Math.max(0, t.contribution));
  const maxHeat = Math.max(1e-9, ...heat.values());
  const spans = new Map();
  for (const t of ex.tokens) if (t.match && t.match.start >= 0) spans.set(t.match.row, t.match);
  const ordered = [...spans.values()].sort((a, b) => a.start - b.start);
  const passage = el('div', { className: 'passage' });
  let at = 0;
  const marks = new Map();
  for (const m of ordered) {
    if (m.start < at) continue;
    passage.append(ex.passage.text.slice(at, m.start));
    const mark = el('mark', { className: 'tok', textContent: ex.passage.text.slice(m.start, m.end) });
    mark.style.background = `hsla(35, 95%, 55%, ${(0.12 + 0.83 * (heat.get(m.row) || 0) / maxHeat).toFixed(3)})`;
    mark.title = `contribution ${fmt(heat.get(m.row) || 0)}`;
    marks.set(m.row, mark);
    passage.append(mark);
    at = m.end;
  }
  passage.append(ex.passage.text.slice(at));

  const info = el('p', { className: 'match-info', textContent: 'Hover or focus a query token to see its match.' });
  const qtokens = el(
    'div',
    { className: 'qtokens', role: 'list', 'aria-label': 'query tokens' },
    ex.tokens.map((t) => {
      const label = t.query.role === 'content' ? t.query.text : `${t.query.text}`;
      const chip = el('span', { className: `qtok${t.query.role === 'content' ? '' : ' special'}`, tabIndex: 0, role: 'listitem', textContent: label });
      const show = () => {
        for (const c of qtokens.children) c.classList.toggle('active', c === chip);
        for (const m of marks.values()) m.classList.remove('active');
        const mark = t.match ? marks.get(t.match.row) : undefined;
        if (mark) mark.classList.add('active');
        const role = t.query.role === 'content' ? '' : ` (${t.query.role})`;
        info.textContent = t.match
          ? `“${t.query.text}”${role} → “${t.match.text}”${t.match.role === 'content' ? '' : ` (${t.match.role})`}: similarity ${fmt(t.similarity)}, weight ${fmt(t.weight)}, contribution ${fmt(t.contribution)}`
          : `“${t.query.text}” matched nothing`;
      };
      chip.addEventListener('mouseenter', show);
      chip.addEventListener('focus', show);
      return chip;
    }),
  );
  const parts = [];
  parts.push(el('tr', {}, [el('th', { textContent: 'late interaction' }), el('td', { textContent: fmt(ex.late_score, 4) })]));
  if (ex.bm25) {
    const matched = ex.bm25.terms.filter((t) => t.tf > 0).map((t) => `${t.term} (+${fmt(t.contribution, 2)})`);
    parts.push(el('tr', {}, [el('th', { textContent: 'BM25' }), el('td', { textContent: `${fmt(ex.bm25.score, 4)} — ${matched.join(', ') || 'no term matched'}` })]));
  }
  if (ex.fusion) {
    parts.push(el('tr', {}, [el('th', { textContent: 'fused' }), el('td', { textContent: `${fmt(ex.fusion.score, 4)} = ${fmt(ex.fusion.late_share, 4)} late + ${fmt(ex.fusion.bm25_share, 4)} BM25` })]));
  }
  box.replaceChildren(
    el('h2', { textContent: hit.title || ex.doc_id }),
    el('p', { className: 'timings', textContent: `${ex.doc_id} · passage ${ex.pid}${ex.idf_weighting ? ' · IDF-weighted query tokens' : ''}` }),
    qtokens,
    info,
    passage,
    el('div', { className: 'legend' }, [el('span', { textContent: 'contribution: low' }), el('span', { className: 'bar' }), el('span', { textContent: 'high' })]),
    el('table', { className: 'parts' }, parts),
  );
}

// ---- rerank ---------------------------------------------------------------------------------
$('rerank-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const query = $('rerank-query').value.trim();
  const documents = $('rerank-docs').value.split('\n').map((s) => s.trim()).filter((s) => s.length > 0);
  if (!query || documents.length === 0) return;
  setStatus('rerank-status', 'Reranking…');
  try {
    const data = await api('/v1/rerank', { query, documents, return_documents: true });
    $('rerank-results').replaceChildren(
      ...data.results.map((r, i) =>
        el('li', { tabIndex: 0 }, [
          el('div', { className: 'hit-head' }, [
            el('span', { className: 'hit-title', textContent: `${i + 1}. (was ${r.index + 1})` }),
            el('span', { className: 'score', textContent: fmt(r.relevance_score, 4) }),
          ]),
          el('div', { className: 'snippet', textContent: r.document ? r.document.text : documents[r.index] }),
        ]),
      ),
    );
    setStatus('rerank-status', `${data.results.length} ${data.results.length === 1 ? 'passage' : 'passages'} reordered.`);
  } catch (e) {
    $('rerank-results').replaceChildren();
    setStatus('rerank-status', e.message, true);
  }
});

loadIndexes();
