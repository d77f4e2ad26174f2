/* heatseq web app: the page's logic (vanilla JavaScript, no build step, no CDN).
 *
 * Every number shown comes from the server's JSON API (/api/docs); this file only lays it
 * out: the upload and what was detected, the design form, the run's live progress, QC, the
 * DE table, volcano/MA plots (plotly.js, served from the installed plotly package), the
 * interactive heatmap (heatmap.js), enrichment and downloads. A selected gene is shared by
 * every page. window.heatseq holds the state (handy in the browser console and in tests).
 */
(function () {
  "use strict";

  const S = {
    config: null, projects: [], project: null, inspection: null, run: null, runId: null,
    contrasts: [], selected: null, selectedLabel: null, page: "data", loaded: {},
    de: { stem: null, sort: "padj", desc: false, offset: 0, limit: 50, q: "" },
    points: {}, hm: null, hmView: null, hmSeq: 0, hmKey: null, lastRedrawMs: null, lastPlotHover: null,
    hmHover: null, pollTimer: null, planSeq: 0,
  };
  window.heatseq = S;
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined) continue;
      e.appendChild(typeof kid === "string" ? document.createTextNode(kid) : kid);
    }
    return e;
  }

  function detailText(d) {
    if (typeof d === "string") return d;
    if (Array.isArray(d)) {
      return d.map((x) => `${(x.loc || []).slice(1).join(".") || "request"}: ${x.msg}`).join("; ");
    }
    return JSON.stringify(d);
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, opts, retried) {
    opts = Object.assign({ credentials: "same-origin" }, opts || {});
    if (opts.json !== undefined) {
      opts.body = JSON.stringify(opts.json);
      opts.headers = Object.assign({ "Content-Type": "application/json" }, opts.headers || {});
      delete opts.json;
    }
    let r;
    try {
      r = await fetch(path, opts);
    } catch (e) {
      throw new ApiError(0, "The heatseq server cannot be reached (is `heatseq serve` still running?).");
    }
    if (r.status === 401 && !retried) {
      await fetch("/api/session", { method: "POST", credentials: "same-origin" });
      return api(path, opts, true);
    }
    const type = r.headers.get("content-type") || "";
    if (!r.ok) {
      let msg = `${r.status} ${r.statusText}`;
      if (type.includes("json")) { const b = await r.json(); if (b && b.detail) msg = detailText(b.detail); }
      throw new ApiError(r.status, msg);
    }
    if (opts.raw) return r;
    return type.includes("json") ? r.json() : r.text();
  }

  function sizeWords(n) {
    const units = ["bytes", "KB", "MB", "GB"];
    let i = 0;
    while (n >= 1024 && i < 3) { n /= 1024; i++; }
    return i === 0 ? `${n.toFixed(0)} bytes` : `${n.toFixed(1)} ${units[i]}`;
  }

  function num(v, kind) {
    if (v === null || v === undefined) return "NA";
    if (typeof v !== "number") return String(v);
    if (kind === "p") return v === 0 ? "0" : (v < 1e-3 ? v.toExponential(2) : v.toPrecision(3));
    if (kind === "int") return Math.round(v).toLocaleString("en-US");
    if (Math.abs(v) >= 1000) return v.toLocaleString("en-US", { maximumFractionDigits: 1 });
    return v.toFixed(3);
  }

  function geneLabel(id, symbol) { return symbol ? symbol : id; }

  /* ------------------------------------------------------------------ pages */
  function showPage(name) {
    S.page = name;
    document.querySelectorAll("section.page").forEach((s) => { s.hidden = s.id !== `page-${name}`; });
    document.querySelectorAll("nav#steps button").forEach((b) => b.classList.toggle("active", b.dataset.page === name));
    const loaders = { design: renderDesign, qc: loadQC, de: loadDE, plots: loadPlots, heatmap: loadHeatmap,
                      enrich: loadEnrich, downloads: loadDownloads };
    if (loaders[name]) loaders[name]().catch(showGlobalError);
  }

  function showGlobalError(e) {
    const box = S.page === "heatmap" ? $("hm-error") : $("upload-message");
    box.textContent = e.message || String(e); box.hidden = false; box.classList.add("error");
    console.error(e);
  }

  function runReady() { return S.run && S.run.status === "done"; }

  function updateNav() {
    document.querySelectorAll("nav#steps button[data-needs-run]").forEach((b) => { b.disabled = !runReady(); });
  }

  /* ------------------------------------------------------------------ projects */
  async function loadProjects(selectId) {
    S.projects = await api("/api/projects");
    if (!S.projects.length) {
      S.projects = [await api("/api/projects", { method: "POST", json: { name: "My project" } })];
    }
    const sel = $("project-select");
    sel.innerHTML = "";
    for (const p of S.projects) sel.appendChild(el("option", { value: p.id, text: p.name }));
    const id = selectId || S.projects[0].id;
    sel.value = id;
    await openProject(id);
  }

  async function openProject(id) {
    clearTimeout(S.pollTimer);
    S.project = await api(`/api/projects/${id}`);
    S.run = null; S.runId = null; S.loaded = {}; S.points = {}; S.hmView = null;
    S.inspection = await api(`/api/projects/${id}/inspection`);
    renderInspection();
    fillRuns();
    const done = S.project.runs.find((r) => r.status === "done");
    const latest = S.project.runs[0];
    if (latest && (latest.status === "queued" || latest.status === "running")) await openRun(latest.id);
    else if (done) await openRun(done.id);
    else if (latest) await openRun(latest.id);
    updateNav();
  }

  function fillRuns() {
    const sel = $("run-select");
    sel.innerHTML = "";
    const runs = S.project ? S.project.runs : [];
    if (!runs.length) sel.appendChild(el("option", { value: "", text: "no run yet" }));
    for (const r of runs) {
      const when = new Date(r.created * 1000).toLocaleTimeString();
      sel.appendChild(el("option", { value: r.id, text: `${when} · ${r.params.design || ""} · ${r.status}` }));
    }
    if (S.runId) sel.value = S.runId;
  }

  async function refreshProject() {
    S.project = await api(`/api/projects/${S.project.id}`);
    fillRuns();
  }

  /* ------------------------------------------------------------------ uploads */
  function tooLarge(name, size) {
    return `${name} (${sizeWords(size)}) is larger than the upload limit of ${sizeWords(S.config.max_upload_bytes)}. ` +
      "Give a smaller file (gzip a text table: it shrinks about 5 times), or start the server with a " +
      "larger limit: heatseq serve --max-upload-mb N.";
  }

  function setStatus(kind, text, cls) {
    const s = $(`status-${kind}`);
    s.textContent = text; s.className = "file-status" + (cls ? " " + cls : "");
    $(`drop-${kind}`).classList.toggle("bad", cls === "error");
    $(`drop-${kind}`).classList.toggle("good", cls === "ok");
  }

  function uploadError(kind, message) {
    setStatus(kind, message, "error");
    const box = $("upload-message");
    box.textContent = message; box.hidden = false; box.className = "message error";
  }

  async function uploadFile(kind, file) {
    $("upload-message").hidden = true;
    if (file.size > S.config.max_upload_bytes) { uploadError(kind, tooLarge(file.name, file.size)); return; }
    setStatus(kind, `Uploading ${file.name} (${sizeWords(file.size)})…`, "");
    try {
      S.inspection = await api(`/api/projects/${S.project.id}/uploads/${kind}?name=${encodeURIComponent(file.name)}`,
        { method: "PUT", body: file, headers: { "Content-Type": "application/octet-stream" } });
      await refreshProject();
      renderInspection();
    } catch (e) {
      uploadError(kind, e.message);
    }
  }
  S.uploadFile = uploadFile;

  function guessKind(file) {
    return /sample|sheet|meta|coldata|design|pheno/i.test(file.name) ? "samples" : "counts";
  }

  function bindDrop(kind) {
    const zone = $(`drop-${kind}`);
    zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", async (ev) => {
      ev.preventDefault(); zone.classList.remove("over");
      const files = Array.from(ev.dataTransfer.files || []);
      if (files.length === 2) {
        const a = guessKind(files[0]) === "samples" ? [files[1], files[0]] : [files[0], files[1]];
        await uploadFile("counts", a[0]); await uploadFile("samples", a[1]);
      } else if (files.length) {
        await uploadFile(kind, files[0]);
      }
    });
    $(`file-${kind}`).addEventListener("change", (ev) => {
      const f = ev.target.files[0]; if (f) uploadFile(kind, f); ev.target.value = "";
    });
  }

  function renderInspection() {
    const ins = S.inspection, box = $("inspection");
    box.innerHTML = "";
    const p = S.project;
    for (const kind of ["counts", "samples"]) {
      const up = ins[kind];
      if (!up) { setStatus(kind, "", ""); continue; }
      if (ins.error && ins.error_file === kind) setStatus(kind, ins.error, "error");
      else if (kind === "counts" && ins.format) {
        setStatus(kind, `✓ ${up.name} (${sizeWords(up.size)}): ${ins.format}, ${num(ins.n_genes, "int")} genes × ${ins.n_samples} samples`, "ok");
      } else if (kind === "samples" && ins.ready) {
        setStatus(kind, `✓ ${up.name}: ${ins.sheet_columns.length} columns for ${ins.n_samples} samples`, "ok");
      } else setStatus(kind, `${up.name} (${sizeWords(up.size)}) uploaded`, "");
    }
    const msg = $("upload-message");
    if (ins.error) {
      msg.textContent = ins.error; msg.hidden = false; msg.className = "message error";
    } else if (msg.classList.contains("error") && (ins.counts || ins.samples)) {
      msg.hidden = true;
    }
    if (!ins.format) {
      box.appendChild(el("p", { class: "muted", text: ins.error ? "Fix the file above to continue." :
        (ins.notes && ins.notes[0]) || "Nothing uploaded yet." }));
      $("to-design").disabled = true;
      return;
    }
    const ids = ins.id_type ? `${ins.id_type}${ins.organism ? " (" + ins.organism + ")" : ""}` +
      (ins.n_symbols !== null && ins.n_symbols !== undefined ? `; symbols for ${num(ins.n_symbols, "int")} of ${num(ins.n_genes, "int")}` : "") : "not checked";
    const facts = el("dl", { class: "facts" },
      el("dt", { text: "Format" }), el("dd", { text: ins.format }),
      el("dt", { text: "Genes" }), el("dd", { text: `${num(ins.n_genes, "int")}` +
        (ins.n_zero_genes ? ` (${num(ins.n_zero_genes, "int")} with zero counts in every sample; normal for a whole-genome annotation)` : "") }),
      el("dt", { text: "Samples" }), el("dd", { text: String(ins.n_samples) }),
      el("dt", { text: "Gene IDs" }), el("dd", { text: ids }));
    const libs = el("table", { class: "data", id: "library-sizes" },
      el("thead", {}, el("tr", {}, el("th", { text: "sample" }), el("th", { text: "reads counted" }))),
      el("tbody", {}, ins.library_sizes.map((l) => el("tr", {}, el("td", { text: l.sample }), el("td", { text: num(l.total, "int") })))));
    const card = el("div", { class: "card", id: "detected" }, facts);
    box.appendChild(card);
    if (ins.sheet_columns.length) {
      box.appendChild(el("div", { class: "card" }, el("h3", { text: "Sample sheet columns" }),
        el("ul", {}, ins.sheet_columns.map((c) => el("li", { text: c.text })))));
    }
    box.appendChild(el("details", {}, el("summary", { text: "Library sizes" }), libs));
    if (ins.notes.length) box.appendChild(el("div", { class: "card" }, el("h3", { text: "Notes" }), el("ul", { class: "notes" }, ins.notes.map((n) => el("li", { text: n })))));
    box.appendChild(el("div", { class: "card", id: "problems" }, el("h3", { text: ins.problems.length ? `Problems (${ins.problems.length}), each with its fix` : "Problems" }),
      ins.problems.length ? el("ul", { class: "problems" }, ins.problems.map((n) => el("li", { text: n }))) :
        el("p", { class: "ok", text: "No problems found." })));
    $("to-design").disabled = !ins.ready;
  }

  /* ------------------------------------------------------------------ design */
  function formulaFrom() {
    const cond = $("contrast-factor").value;
    const others = Array.from(document.querySelectorAll("#factor-boxes input:checked")).map((x) => x.value).filter((x) => x !== cond);
    return "~ " + [...others, cond].join(" + ");
  }

  function fillLevels(factor, level, ref) {
    const levels = (S.inspection.proposal.levels || {})[factor] || [];
    for (const [id, want] of [["contrast-level", level], ["contrast-ref", ref]]) {
      const sel = $(id); sel.innerHTML = "";
      for (const lv of levels) sel.appendChild(el("option", { value: lv, text: lv }));
      if (want && levels.includes(want)) sel.value = want;
    }
    if ($("contrast-level").value === $("contrast-ref").value && levels.length > 1) {
      $("contrast-level").value = levels.find((x) => x !== $("contrast-ref").value);
    }
  }

  function fillFactorBoxes(terms) {
    const box = $("factor-boxes"); box.innerHTML = "";
    const cond = $("contrast-factor").value;
    const others = S.inspection.proposal.factors.filter((f) => f !== cond);
    if (!others.length) box.appendChild(el("span", { class: "muted", text: "no other grouping column in the sheet" }));
    for (const f of others) {
      box.appendChild(el("label", {}, el("input", { type: "checkbox", value: f, checked: terms.includes(f),
        onchange: () => { $("design-formula").value = formulaFrom(); checkPlan(); } }), ` ${f}`));
    }
  }

  async function renderDesign() {
    const ins = S.inspection;
    const ready = ins && ins.ready && ins.proposal && ins.proposal.factors.length;
    $("design-form").hidden = !ready;
    $("design-empty").hidden = !!ready;
    if (!ready) {
      $("design-empty").textContent = !ins || !ins.ready ? "Upload a count table and a matching sample sheet first (Data page)." :
        "The sample sheet has no column that groups the samples (a condition with at least two values, each shared by several samples). Add one and upload the sheet again.";
      return;
    }
    if (S.designFor === ins.samples.id + ins.counts.id) return;
    S.designFor = ins.samples.id + ins.counts.id;
    const pr = ins.proposal;
    const cf = $("contrast-factor"); cf.innerHTML = "";
    for (const f of pr.factors) cf.appendChild(el("option", { value: f, text: f }));
    const c0 = pr.contrasts && Array.isArray(pr.contrasts[0]) ? pr.contrasts[0] : null;
    cf.value = c0 ? c0[0] : (pr.condition || pr.factors[pr.factors.length - 1]);
    fillLevels(cf.value, c0 ? c0[1] : null, c0 ? c0[2] : null);
    const terms = (pr.design || "").replace("~", "").split("+").map((x) => x.trim());
    fillFactorBoxes(terms);
    $("design-formula").value = pr.design || formulaFrom();
    await checkPlan();
  }

  function currentContrast() { return [$("contrast-factor").value, $("contrast-level").value, $("contrast-ref").value]; }

  async function checkPlan() {
    const seq = ++S.planSeq;
    const box = $("plan-message");
    let res;
    try {
      res = await api(`/api/projects/${S.project.id}/plan`, { method: "POST",
        json: { design: $("design-formula").value.trim() || null, contrast: currentContrast() } });
    } catch (e) { res = { ok: false, error: e.message }; }
    if (seq !== S.planSeq) return res;
    box.innerHTML = "";
    const conf = (S.inspection.proposal.confounded || []);
    const lines = [];
    if (res.ok) {
      lines.push(el("p", {}, "Design ", el("code", { text: res.design }), `: tests ${currentContrast()[1]} against ${currentContrast()[2]} in ${currentContrast()[0]}` +
        (res.batch.length ? `, taking ${res.batch.join(", ")} into account.` : ".")));
      for (const n of res.notes) lines.push(el("p", { class: "muted", text: n }));
    }
    if (conf.length) {
      lines.push(el("p", { class: "warn", text: `Confounded columns: ${conf.join("; ")}. Each pair splits the samples the same way ` +
        "(or one is nested in the other), so the data cannot tell their effects apart: only one of each pair can be in the design." }));
    }
    if (!res.ok) lines.push(el("p", { class: "error-text", text: res.error }));
    lines.forEach((x) => box.appendChild(x));
    box.className = "message" + (res.ok ? "" : " error");
    $("run-button").disabled = !res.ok;
    return res;
  }

  async function startRun(ev) {
    ev.preventDefault();
    const plan = await checkPlan();
    if (!plan.ok) return;
    const body = { design: $("design-formula").value.trim(), contrast: currentContrast(),
      alpha: parseFloat($("opt-alpha").value) || 0.1, shrink: $("opt-shrink").value,
      heatmap_genes: parseInt($("opt-heatmap-genes").value, 10) || 500 };
    try {
      const run = await api(`/api/projects/${S.project.id}/runs`, { method: "POST", json: body });
      await refreshProject();
      await openRun(run.id);
    } catch (e) {
      const box = $("plan-message"); box.textContent = e.message; box.className = "message error";
    }
  }

  /* ------------------------------------------------------------------ runs */
  async function openRun(id) {
    clearTimeout(S.pollTimer);
    S.runId = id; S.loaded = {}; S.points = {}; S.hmView = null; S.contrasts = [];
    $("run-select").value = id;
    S.run = await api(`/api/runs/${id}`);
    renderRun();
    if (S.run.status === "done") await runDone(false);
    else if (S.run.status === "queued" || S.run.status === "running") S.pollTimer = setTimeout(poll, 600);
    updateNav();
  }

  async function poll() {
    if (!S.runId) return;
    const id = S.runId;
    let run;
    try { run = await api(`/api/runs/${id}`); } catch (e) { S.pollTimer = setTimeout(poll, 1500); return; }
    if (id !== S.runId) return;
    S.run = run; renderRun();
    if (run.status === "queued" || run.status === "running") { S.pollTimer = setTimeout(poll, 600); return; }
    await refreshProject();
    if (run.status === "done") await runDone(true);
    updateNav();
  }

  function renderRun() {
    const r = S.run;
    $("run-status").hidden = false;
    const words = { queued: "waiting for a free worker", running: `running: ${r.stage || "starting"}`, done: "done", failed: "failed" };
    $("run-title").textContent = `Analysis ${r.id}: ${words[r.status]}`;
    $("run-progress-bar").style.width = `${Math.round(r.progress * 100)}%`;
    const ol = $("run-stages"); ol.innerHTML = "";
    const at = r.stage ? r.stages.indexOf(r.stage) : -1;
    r.stages.forEach((s, i) => {
      const cls = r.status === "done" || i < at ? "done" : (i === at && r.status === "running" ? "current" : "");
      ol.appendChild(el("li", { class: cls, text: s }));
    });
    const err = $("run-error");
    err.hidden = r.status !== "failed";
    err.textContent = r.status === "failed" ? `The analysis failed: ${r.error}` : "";
    $("rerun-button").hidden = r.status !== "failed";
    $("run-status").dataset.status = r.status;
  }

  async function runDone(jump) {
    S.contrasts = await api(`/api/runs/${S.runId}/contrasts`);
    document.querySelectorAll(".contrast-select").forEach((sel) => {
      sel.innerHTML = "";
      for (const c of S.contrasts) sel.appendChild(el("option", { value: c.stem, text: c.name }));
    });
    S.de.stem = S.contrasts.length ? S.contrasts[0].stem : null;
    updateNav();
    if (jump) showPage("qc");
  }

  /* ------------------------------------------------------------------ QC */
  async function loadQC() {
    if (!runReady() || S.loaded.qc === S.runId) return;
    S.loaded.qc = S.runId;
    const q = await api(`/api/runs/${S.runId}/qc`);
    const box = $("qc-verdict"); box.innerHTML = "";
    const flagged = q.verdict_table.filter((r) => r.status && r.status !== "ok");
    box.className = "verdict" + (flagged.length ? " warn" : "");
    box.appendChild(el("p", { id: "qc-verdict-summary", text: q.verdict_summary || "No condition column: the replicate verdict was not made." }));
    if (q.verdict_sentences.length) {
      box.appendChild(el("details", {}, el("summary", { text: "How this was judged" }),
        el("ul", {}, q.verdict_sentences.map((s) => el("li", { text: s })))));
    }
    const cond = q.condition && q.sheet[q.condition] ? q.sheet[q.condition] : q.samples.map(() => "samples");
    const levels = [...new Set(cond)];
    const pcs = Object.keys(q.pca);
    if (pcs.length >= 2 && window.Plotly) {
      const traces = levels.map((lv) => {
        const idx = cond.map((c, i) => (c === lv ? i : -1)).filter((i) => i >= 0);
        return { type: "scatter", mode: "markers+text", name: String(lv), x: idx.map((i) => q.pca[pcs[0]][i]),
          y: idx.map((i) => q.pca[pcs[1]][i]), text: idx.map((i) => q.samples[i]), textposition: "top center",
          textfont: { size: 9 }, marker: { size: 11 }, hovertemplate: "%{text}<extra>" + lv + "</extra>" };
      });
      const pct = (k) => (q.pca_variance[k] !== undefined ? ` (${(q.pca_variance[k] * 100).toFixed(1)}%)` : "");
      Plotly.newPlot("qc-pca", traces, { margin: { t: 20, r: 10 }, xaxis: { title: { text: pcs[0] + pct(pcs[0]) } },
        yaxis: { title: { text: pcs[1] + pct(pcs[1]) } }, legend: { title: { text: q.condition || "" } } },
        { displaylogo: false, responsive: true });
      Plotly.newPlot("qc-distances", [{ type: "heatmap", z: q.distances, x: q.distance_order, y: q.distance_order,
        colorscale: "Blues", reversescale: true, hovertemplate: "%{x} – %{y}: %{z:.1f}<extra></extra>",
        colorbar: { title: { text: "distance" } } }], { margin: { t: 20, l: 110, b: 110 }, yaxis: { autorange: "reversed" } },
        { displaylogo: false, responsive: true });
    }
    const t = $("qc-table"); t.innerHTML = "";
    if (q.verdict_table.length) {
      const cols = ["sample", "group", "status", "own_correlation", "nearest_group", "nearest_correlation", "silhouette", "evidence"];
      t.appendChild(el("div", { class: "table-wrap" }, el("table", { class: "data", id: "qc-verdict-table" },
        el("thead", {}, el("tr", {}, cols.map((c) => el("th", { class: typeof q.verdict_table[0][c] === "string" ? "text" : null, text: c })))),
        el("tbody", {}, q.verdict_table.map((r) => el("tr", { class: r.status !== "ok" ? "selected" : null },
          cols.map((c) => el("td", { class: typeof r[c] === "string" ? "text" : null, text: typeof r[c] === "number" ? r[c].toFixed(3) : (r[c] || "") }))))))));
    }
    const figs = $("qc-figures"); figs.innerHTML = "";
    for (const f of q.figures.filter((x) => !/pca|distances|correlations/.test(x))) {
      figs.appendChild(el("img", { src: `/api/runs/${S.runId}/files/${f}`, alt: f, loading: "lazy" }));
    }
  }

  /* ------------------------------------------------------------------ DE table */
  const DE_LABELS = { gene_id: "gene ID", symbol: "symbol", baseMean: "baseMean", log2FoldChange: "log2FC",
    lfcSE: "lfcSE", stat: "stat", pvalue: "p-value", padj: "padj", log2FoldChange_shrunk: "log2FC (shrunk)", lfcSE_shrunk: "lfcSE (shrunk)" };

  async function loadDE() {
    if (!runReady()) return;
    const d = S.de;
    d.stem = $("de-contrast").value || d.stem;
    const c = S.contrasts.find((x) => x.stem === d.stem);
    $("de-summary").textContent = c ? c.summary : "";
    const params = new URLSearchParams({ sort: d.sort, desc: d.desc, offset: d.offset, limit: d.limit, q: $("de-search").value.trim(),
      direction: $("de-direction").value });
    if ($("de-padj").value) params.set("padj_below", $("de-padj").value);
    if ($("de-lfc").value) params.set("min_abs_lfc", $("de-lfc").value);
    const page = await api(`/api/runs/${S.runId}/de/${d.stem}?${params}`);
    S.dePage = page;
    const table = $("de-table");
    const head = table.querySelector("thead"), body = table.querySelector("tbody");
    head.innerHTML = ""; body.innerHTML = "";
    head.appendChild(el("tr", {}, page.columns.map((col) => el("th", {
      "data-sort": col, class: col === "gene_id" || col === "symbol" ? "text" : null, scope: "col",
      "aria-sort": d.sort === col ? (d.desc ? "descending" : "ascending") : "none", text: DE_LABELS[col] || col,
      onclick: () => { if (d.sort === col) d.desc = !d.desc; else { d.sort = col; d.desc = ["baseMean", "stat", "log2FoldChange", "log2FoldChange_shrunk"].includes(col); } d.offset = 0; loadDE(); } }))));
    const ig = page.columns.indexOf("gene_id"), il = page.columns.indexOf("log2FoldChange");
    for (const row of page.rows) {
      body.appendChild(el("tr", { "data-gene": row[ig], class: row[ig] === S.selected ? "selected" : null,
        onclick: () => selectGene(row[ig], row[page.columns.indexOf("symbol")]) },
        row.map((v, j) => {
          const col = page.columns[j];
          const cls = col === "gene_id" || col === "symbol" ? "text" : (j === il && v !== null ? (v > 0 ? "up" : "down") : null);
          return el("td", { class: cls, text: col === "pvalue" || col === "padj" ? num(v, "p") : num(v) });
        })));
    }
    const end = Math.min(page.offset + page.limit, page.total);
    $("de-count").textContent = page.total ? `rows ${num(page.offset + 1, "int")}–${num(end, "int")} of ${num(page.total, "int")}` +
      (page.total !== page.n_genes ? ` (filtered from ${num(page.n_genes, "int")})` : "") : "no gene matches the filters";
    $("de-prev").disabled = page.offset === 0;
    $("de-next").disabled = end >= page.total;
  }

  /* ------------------------------------------------------------------ volcano / MA */
  async function points(stem) {
    if (!S.points[stem]) S.points[stem] = await api(`/api/runs/${S.runId}/de/${stem}/points`);
    return S.points[stem];
  }

  function groupsOf(p) {
    const g = { up: [], down: [], ns: [] };
    for (let i = 0; i < p.gene_id.length; i++) {
      const sig = p.padj[i] !== null && p.padj[i] < p.alpha;
      g[sig ? (p.lfc[i] > 0 ? "up" : "down") : "ns"].push(i);
    }
    return g;
  }

  function hoverText(p, i) {
    return `<b>${geneLabel(p.gene_id[i], p.symbol[i])}</b> ${p.symbol[i] ? p.gene_id[i] : ""}<br>log2FC ${p.lfc[i].toFixed(2)}` +
      `<br>padj ${num(p.padj[i], "p")}<br>baseMean ${num(p.base_mean[i])}`;
  }

  async function loadPlots() {
    if (!runReady() || !window.Plotly) return;
    const stem = $("plots-contrast").value || S.de.stem;
    if (S.loaded.plots === S.runId + stem) return;
    S.loaded.plots = S.runId + stem;
    const p = await points(stem), g = groupsOf(p);
    const colors = { up: "#b2182b", down: "#2166ac", ns: "#b8b8b8" };
    const names = { up: `up (${g.up.length})`, down: `down (${g.down.length})`, ns: "not significant" };
    const ylog = (i) => -Math.log10(Math.max(p.padj[i], 1e-300));
    const mk = (key, xs, ys, idx) => ({ type: "scattergl", mode: "markers", name: names[key], x: xs, y: ys,
      customdata: idx.map((i) => p.gene_id[i]), text: idx.map((i) => hoverText(p, i)), hoverinfo: "text",
      marker: { color: colors[key], size: key === "ns" ? 3 : 5, opacity: key === "ns" ? 0.5 : 0.8 } });
    const vol = ["ns", "up", "down"].map((k) => {
      const idx = g[k].filter((i) => p.padj[i] !== null);
      return mk(k, idx.map((i) => p.lfc[i]), idx.map(ylog), idx);
    });
    const ma = ["ns", "up", "down"].map((k) => mk(k, g[k].map((i) => p.base_mean[i]),
      g[k].map((i) => (p.lfc_shrunk[i] !== null ? p.lfc_shrunk[i] : p.lfc[i])), g[k]));
    const selTrace = () => ({ type: "scatter", mode: "markers+text", name: "selected", x: [], y: [], text: [],
      textposition: "top center", hoverinfo: "skip", showlegend: false,
      marker: { size: 16, color: "rgba(0,0,0,0)", line: { color: "#000", width: 2 } }, textfont: { size: 12, color: "#000" } });
    vol.push(selTrace()); ma.push(selTrace());
    const cfg = { displaylogo: false, responsive: true };
    await Plotly.newPlot("volcano", vol, { title: { text: `Volcano: ${p.name}` }, hovermode: "closest", margin: { t: 40 },
      xaxis: { title: { text: "log2 fold change" } }, yaxis: { title: { text: "−log10 adjusted p-value" } } }, cfg);
    await Plotly.newPlot("ma", ma, { title: { text: `MA: ${p.name}` }, hovermode: "closest", margin: { t: 40 },
      xaxis: { title: { text: "mean of normalised counts" }, type: "log" },
      yaxis: { title: { text: p.lfc_shrunk.some((x) => x !== null) ? "log2 fold change (shrunk)" : "log2 fold change" } } }, cfg);
    for (const id of ["volcano", "ma"]) {
      const div = $(id);
      div.on("plotly_hover", (ev) => { const pt = ev.points[0]; if (pt && pt.customdata) S.lastPlotHover = { plot: id, gene: pt.customdata }; });
      div.on("plotly_click", (ev) => { const pt = ev.points[0]; if (pt && pt.customdata) selectGene(pt.customdata); });
    }
    markSelectedInPlots();
  }

  function markSelectedInPlots() {
    const stem = $("plots-contrast").value || S.de.stem;
    const p = S.points[stem];
    if (!p || !window.Plotly || !$("volcano").data) return;
    const i = S.selected ? p.gene_id.indexOf(S.selected) : -1;
    const label = i >= 0 ? geneLabel(p.gene_id[i], p.symbol[i]) : "";
    const vx = i >= 0 && p.padj[i] !== null ? [p.lfc[i]] : [], vy = i >= 0 && p.padj[i] !== null ? [-Math.log10(Math.max(p.padj[i], 1e-300))] : [];
    Plotly.restyle("volcano", { x: [vx], y: [vy], text: [vx.length ? [label] : []] }, [3]);
    const mx = i >= 0 ? [p.base_mean[i]] : [], my = i >= 0 ? [p.lfc_shrunk[i] !== null ? p.lfc_shrunk[i] : p.lfc[i]] : [];
    Plotly.restyle("ma", { x: [mx], y: [my], text: [mx.length ? [label] : []] }, [3]);
  }

  /* ------------------------------------------------------------------ the selected gene */
  async function selectGene(id, symbol) {
    S.selected = id;
    S.selectedLabel = symbol || id;
    $("selected-gene").hidden = !id;
    $("selected-gene-text").textContent = id ? `Selected: ${symbol || id}` : "";
    document.querySelectorAll("#de-table tbody tr").forEach((tr) => tr.classList.toggle("selected", tr.dataset.gene === id));
    if (S.hm) S.hm.select(id);
    markSelectedInPlots();
    const panel = $("gene-panel");
    if (!id) { panel.hidden = true; return; }
    try {
      const g = await api(`/api/runs/${S.runId}/genes/${encodeURIComponent(id)}`);
      S.selectedLabel = g.symbol || g.gene_id;
      $("selected-gene-text").textContent = `Selected: ${S.selectedLabel}`;
      panel.innerHTML = "";
      panel.appendChild(el("h3", { text: `${g.symbol || g.gene_id} ${g.symbol ? "(" + g.gene_id + ")" : ""}` }));
      panel.appendChild(el("table", { class: "data" }, el("thead", {}, el("tr", {}, ["contrast", "baseMean", "log2FC", "padj"].map((c) => el("th", { text: c })))),
        el("tbody", {}, Object.entries(g.contrasts).map(([stem, v]) => el("tr", {}, el("td", { class: "text", text: (S.contrasts.find((c) => c.stem === stem) || {}).name || stem }),
          el("td", { text: num(v.baseMean) }), el("td", { text: num(v.log2FoldChange) }), el("td", { text: num(v.padj, "p") }))))));
      panel.appendChild(el("button", { type: "button", text: "Show in the DE table", onclick: () => { $("de-search").value = g.symbol || g.gene_id; S.de.offset = 0; showPage("de"); } }));
      panel.hidden = false;
    } catch (e) { panel.hidden = true; }
  }
  S.selectGene = selectGene;

  /* ------------------------------------------------------------------ heatmap */
  function hmRequest() {
    const genes = $("hm-genes").value, k = $("hm-k").value;
    const body = { genes, n: parseInt($("hm-n").value, 10) || 500, scale: $("hm-scale").value, metric: $("hm-metric").value,
      method: $("hm-method").value, cluster_samples: $("hm-cluster-samples").checked, k: k ? parseInt(k, 10) : null };
    if (genes === "de") body.contrast = $("hm-contrast").value || null;
    if (genes === "list") body.gene_list = $("hm-list").value.split(/[\s,;]+/).filter(Boolean);
    return body;
  }

  function hmColours() {
    const m = S.hmView, clip = parseFloat($("hm-clip").value);
    const pal = S.config.palettes[$("hm-palette").value];
    if (clip > 0 && m.scale !== "none") return [pal, -clip, clip];
    return [pal, m.vmin, m.vmax];
  }

  async function requestView() {
    // the same options for the same run (a change event fired again on blur): keep the view
    const key = JSON.stringify([S.runId, hmRequest()]);
    if (key === S.hmKey) return;
    S.hmKey = key;
    const seq = ++S.hmSeq, t0 = performance.now();
    $("hm-error").hidden = true;
    $("hm-status").textContent = "Clustering on the server…";
    let meta, buf;
    try {
      meta = await api(`/api/runs/${S.runId}/heatmap`, { method: "POST", json: hmRequest() });
      const r = await api(meta.matrix_url, { raw: true });
      buf = await r.arrayBuffer();
    } catch (e) {
      if (seq !== S.hmSeq) return;
      S.hmKey = null;  // a failed view may be asked for again
      $("hm-status").textContent = "";
      $("hm-error").textContent = e.message; $("hm-error").hidden = false;
      return;
    }
    if (seq !== S.hmSeq) return;
    S.hmView = meta;
    const [pal, lo, hi] = hmColours();
    S.hm.setData(meta, new Uint16Array(buf), pal, lo, hi);
    if (S.selected) S.hm.select(S.selected);
    const ms = performance.now() - t0;
    S.lastRedrawMs = ms;
    S.lastRedraw = { ms, server: meta.seconds, bytes: buf.byteLength, paintMs: S.hm.lastPaintMs, renderMs: S.hm.lastRenderMs };
    $("hm-status").textContent = `${num(meta.n_genes, "int")} genes × ${meta.n_samples} samples; redrawn in ${(ms / 1000).toFixed(2)} s ` +
      `(server ${(meta.seconds.select + meta.seconds.cluster + meta.seconds.modules + meta.seconds.encode).toFixed(2)} s, ${sizeWords(buf.byteLength)} matrix). ` +
      "Wheel or drag to zoom the genes; double-click to zoom out.";
    $("hm-status").dataset.view = meta.view;
    const ksel = $("hm-k"), want = ksel.value;
    ksel.innerHTML = "";
    ksel.appendChild(el("option", { value: "", text: meta.k_chosen && meta.k ? `auto (${meta.k})` : "auto" }));
    for (let k = 1; k <= Math.min(12, meta.n_genes); k++) ksel.appendChild(el("option", { value: String(k), text: String(k) }));
    ksel.value = want;
    $("hm-caption").textContent = meta.caption + (meta.unknown.length ? `. Not found: ${meta.unknown.join(", ")}` : "");
    const ol = $("hm-modules"); ol.innerHTML = "";
    for (const s of meta.module_summaries) {
      ol.appendChild(el("li", { "data-module": s.module, onclick: () => showModule(s.module) },
        el("span", { class: "swatch", style: `background:${meta.module_colors[String(s.module)]}` }), s.text));
    }
    $("hm-module-detail").hidden = true;
    const leg = $("hm-legend"); leg.innerHTML = "";
    for (const bar of meta.annotations) {
      leg.appendChild(el("p", {}, el("strong", { text: bar.column + ": " }),
        ...Object.entries(bar.colors).map(([lv, c]) => el("span", { class: "legend-item" },
          el("span", { class: "swatch", style: `background:${c}` }), lv + " "))));
    }
  }

  async function showModule(mod) {
    document.querySelectorAll("#hm-modules li").forEach((li) => li.classList.toggle("active", li.dataset.module === String(mod)));
    const m = S.hmView;
    if (m && m.modules) {
      const first = m.modules.indexOf(mod), last = m.modules.lastIndexOf(mod);
      if (first >= 0) S.hm.zoomTo(first, last - first + 1);
    }
    const box = $("hm-module-detail");
    box.hidden = false; box.innerHTML = ""; box.appendChild(el("p", { class: "muted", text: `Module ${mod}: loading its genes and enrichment…` }));
    const d = await api(`/api/runs/${S.runId}/heatmap/${m.view}/modules/${mod}`);
    box.innerHTML = "";
    box.appendChild(el("h3", { text: d.text }));
    box.appendChild(el("p", {}, `${d.genes.length} genes: `, el("span", { class: "module-genes", text: d.genes.slice(0, 60).map((g) => g.label).join(", ") + (d.genes.length > 60 ? ", …" : "") })));
    if (d.enrichment) {
      const t = d.enrichment, ci = (c) => t.columns.indexOf(c);
      box.appendChild(el("p", { class: "muted", text: t.note }));
      box.appendChild(el("table", { class: "data", id: "module-enrichment" }, el("thead", {}, el("tr", {}, ["term", "collection", "overlap", "padj"].map((c) => el("th", { text: c })))),
        el("tbody", {}, t.rows.slice(0, 12).map((r) => el("tr", {}, el("td", { class: "text", text: r[ci("term_name")] }), el("td", { class: "text", text: r[ci("collection")] }),
          el("td", { text: num(r[ci("overlap")], "int") }), el("td", { text: num(r[ci("padj")], "p") }))))));
    } else {
      box.appendChild(el("p", { class: "muted", text: d.enrichment_note || "" }));
    }
  }

  async function loadHeatmap() {
    if (!runReady()) return;
    if (!S.hm) {
      S.hm = new window.HeatmapCanvas($("hm-container"), {
        onGeneClick: (g) => selectGene(g, S.hmView ? S.hmView.labels[S.hmView.rows.indexOf(g)] : null),
        onModuleClick: (mod) => showModule(mod),
        onHover: (info) => { S.hmHover = info; },
      });
    }
    if (S.loaded.heatmap === S.runId) return;
    S.loaded.heatmap = S.runId;
    const hg = S.run.params.heatmap_genes;
    if (hg) $("hm-n").value = hg;
    await requestView();
  }

  function bindHeatmapForm() {
    let timer = null;
    const later = () => { clearTimeout(timer); timer = setTimeout(requestView, 250); };
    for (const id of ["hm-n", "hm-contrast", "hm-list", "hm-scale", "hm-metric", "hm-method", "hm-cluster-samples", "hm-k"]) {
      $(id).addEventListener("change", later);
    }
    $("hm-genes").addEventListener("change", () => {
      const g = $("hm-genes").value;
      $("hm-contrast-label").hidden = g !== "de"; $("hm-list-label").hidden = g !== "list"; $("hm-n-label").hidden = g === "list";
      later();
    });
    const recolour = () => { if (S.hmView) { const [p, lo, hi] = hmColours(); S.hm.setColours(p, lo, hi); } };
    $("hm-palette").addEventListener("change", recolour);
    $("hm-clip").addEventListener("input", recolour);
    $("hm-reset-zoom").addEventListener("click", () => S.hm && S.hm.resetZoom());
    $("hm-form").addEventListener("submit", (ev) => ev.preventDefault());
  }

  /* ------------------------------------------------------------------ enrichment */
  async function loadEnrich() {
    if (!runReady() || S.loaded.enrich === S.runId) return;
    S.loaded.enrich = S.runId;
    const info = await api(`/api/runs/${S.runId}/enrichment`);
    const box = $("enrich-content"); box.innerHTML = "";
    if (!info.available) { box.appendChild(el("p", { class: "message", text: info.note })); return; }
    for (const f of info.figures) {
      box.appendChild(el("figure", { class: "enrich-figures" }, el("img", { src: f.url, alt: f.path, loading: "lazy" }), el("figcaption", { class: "caption", text: f.path })));
    }
    for (const t of info.tables) {
      const holder = el("div", { class: "card" }, el("h3", { text: t.path }));
      box.appendChild(holder);
      await enrichTable(holder, t.path, "padj", false);
    }
  }

  async function enrichTable(holder, path, sort, desc) {
    const t = await api(`/api/runs/${S.runId}/table/${path}?sort=${sort}&desc=${desc}&limit=50`);
    holder.querySelectorAll(".table-wrap, p.count").forEach((x) => x.remove());
    const wrap = el("div", { class: "table-wrap" }, el("table", { class: "data" },
      el("thead", {}, el("tr", {}, t.columns.map((c) => el("th", { class: "text", "aria-sort": c === sort ? (desc ? "descending" : "ascending") : "none", text: c,
        onclick: () => enrichTable(holder, path, c, c === sort ? !desc : false) })))),
      el("tbody", {}, t.rows.map((r) => el("tr", {}, r.map((v, j) => el("td", { class: typeof v === "string" ? "text" : null,
        text: /p(adj|value)/.test(t.columns[j]) ? num(v, "p") : (typeof v === "number" ? num(v) : (v || "")) })))))));
    holder.appendChild(wrap);
    holder.appendChild(el("p", { class: "count muted", text: `${Math.min(50, t.total)} of ${t.total} rows shown` }));
  }

  /* ------------------------------------------------------------------ downloads */
  async function loadDownloads() {
    if (!runReady()) return;
    const files = await api(`/api/runs/${S.runId}/files`);
    const box = $("downloads"); box.innerHTML = "";
    const base = `/api/runs/${S.runId}`;
    const group = (title, items) => box.appendChild(el("div", { class: "downloads-group card" }, el("h3", { text: title }), el("ul", {}, items)));
    const link = (href, text, dl) => el("a", { href, text, download: dl === false ? null : "" });
    group("Report", [el("li", {}, el("span", { class: "name", text: "report.html" }),
      el("a", { href: `${base}/report`, target: "_blank", rel: "noopener", text: "open", id: "open-report" }),
      link(`${base}/report?download=1`, "download", true))]);
    const scriptItems = [el("li", {}, el("span", { class: "name", text: `reproduce_${S.runId}.py` }), link(`${base}/script`, "Python script (the run)"))];
    if (S.hmView) scriptItems.push(el("li", {}, el("span", { class: "name", text: "with the heatmap as set up" }), link(`${base}/script?view=${S.hmView.view}`, "Python script (this heatmap)")));
    group("Reproduce with Python", scriptItems);
    if (S.hmView) {
      const pal = $("hm-palette").value;
      group("The heatmap as set up on the Heatmap page", [el("li", {}, el("span", { class: "name", text: S.hmView.caption }),
        ...["png", "svg", "pdf"].map((f) => link(`${base}/heatmap/${S.hmView.view}/figure?format=${f}&palette=${pal}`, f.toUpperCase())))]);
    }
    const figs = {};
    for (const f of files.filter((x) => x.kind === "figure")) {
      const stem = f.path.replace(/\.(png|svg|pdf)$/, "");
      (figs[stem] = figs[stem] || []).push(f);
    }
    group("Figures", Object.entries(figs).map(([stem, fs]) => el("li", {}, el("span", { class: "name", text: stem }),
      ...fs.map((f) => link(`${f.url}?download=1`, f.path.split(".").pop().toUpperCase())))));
    group("Tables", files.filter((x) => x.kind === "table").map((f) => el("li", {}, el("span", { class: "name", text: f.path }),
      link(f.url, "TSV"), link(`${f.url}?format=xlsx`, "XLSX"))));
    group("Other files", files.filter((x) => x.kind === "text" || x.kind === "other").map((f) => el("li", {}, el("span", { class: "name", text: f.path }), link(`${f.url}?download=1`, "download"))));
    const ups = [S.run.counts, S.run.samples].filter(Boolean);
    group("Your input files (unchanged)", ups.map((u) => el("li", {}, el("span", { class: "name", text: `${u.name} (sha256 ${u.sha256.slice(0, 12)}…)` }),
      link(`/api/projects/${S.project.id}/uploads/${u.id}/file`, "download"))));
  }

  /* ------------------------------------------------------------------ start */
  async function init() {
    S.config = await api("/api/config");
    const pal = $("hm-palette");
    for (const name of Object.keys(S.config.palettes)) pal.appendChild(el("option", { value: name, text: name }));
    document.querySelectorAll("nav#steps button").forEach((b) => b.addEventListener("click", () => showPage(b.dataset.page)));
    bindDrop("counts"); bindDrop("samples");
    $("use-demo").addEventListener("click", async () => {
      $("upload-message").hidden = true;
      try { S.inspection = await api(`/api/projects/${S.project.id}/demo`, { method: "POST" }); await refreshProject(); renderInspection(); }
      catch (e) { uploadError("counts", e.message); }
    });
    $("to-design").addEventListener("click", () => showPage("design"));
    $("project-select").addEventListener("change", (ev) => openProject(ev.target.value).catch(showGlobalError));
    $("run-select").addEventListener("change", (ev) => { if (ev.target.value) openRun(ev.target.value).catch(showGlobalError); });
    $("new-project").addEventListener("click", async () => {
      const p = await api("/api/projects", { method: "POST", json: { name: `Project ${S.projects.length + 1}` } });
      await loadProjects(p.id); showPage("data");
    });
    $("contrast-factor").addEventListener("change", async () => {
      const f = $("contrast-factor").value;
      fillFactorBoxes(Array.from(document.querySelectorAll("#factor-boxes input:checked")).map((x) => x.value));
      $("design-formula").value = formulaFrom();
      // the server proposes the levels: a control-like level as the reference
      let level = null, ref = null;
      try {
        const res = await api(`/api/projects/${S.project.id}/plan`, { method: "POST", json: { design: formulaFrom(), contrast: null } });
        const c = res.ok && Array.isArray(res.contrasts[0]) ? res.contrasts[0] : null;
        if (c && c[0] === f) { level = c[1]; ref = c[2]; }
      } catch (e) { /* the check below reports it */ }
      fillLevels(f, level, ref);
      checkPlan();
    });
    for (const id of ["contrast-level", "contrast-ref"]) $(id).addEventListener("change", checkPlan);
    let t = null;
    $("design-formula").addEventListener("input", () => { clearTimeout(t); t = setTimeout(checkPlan, 300); });
    $("design-form").addEventListener("submit", startRun);
    $("rerun-button").addEventListener("click", async () => {
      const run = await api(`/api/runs/${S.runId}/rerun`, { method: "POST" }); await refreshProject(); await openRun(run.id);
    });
    $("clear-gene").addEventListener("click", () => selectGene(null));
    let st = null;
    const deLater = () => { clearTimeout(st); st = setTimeout(() => { S.de.offset = 0; loadDE().catch(showGlobalError); }, 250); };
    $("de-search").addEventListener("input", deLater);
    for (const id of ["de-padj", "de-lfc", "de-direction", "de-contrast"]) $(id).addEventListener("change", deLater);
    $("de-prev").addEventListener("click", () => { S.de.offset = Math.max(0, S.de.offset - S.de.limit); loadDE(); });
    $("de-next").addEventListener("click", () => { S.de.offset += S.de.limit; loadDE(); });
    $("plots-contrast").addEventListener("change", () => loadPlots().catch(showGlobalError));
    bindHeatmapForm();
    await loadProjects();
    document.body.dataset.ready = "1";
  }

  document.addEventListener("DOMContentLoaded", () => { init().catch(showGlobalError); });
}());
