/* heatseq's interactive heatmap: draws a server-clustered matrix on a canvas.
 *
 * The matrix arrives as uint16 codes (genes x samples, drawn order; value = lo + code *
 * (hi - lo) / 65534; 65535 = missing). It is painted once into an offscreen canvas of one
 * pixel per cell through a 65,536-entry colour table, then scaled into view with drawImage:
 * redrawing (zoom, hover, palette, colour limit) never walks the matrix in JavaScript, so
 * 20,000 genes x 100 samples stay smooth. The wheel zooms the genes around the mouse, a
 * vertical drag zooms into a band of genes; hovering a cell shows gene, sample and value;
 * a click selects the gene; a click on the module bar selects the module.
 */
(function () {
  "use strict";
  const NA = 65535;
  const SPAN = 65534;
  const NA_COLOR = "#d9d9d9";

  function hexToAbgr(hex) {
    const h = hex.replace("#", "");
    const r = parseInt(h.slice(0, 2), 16), g = parseInt(h.slice(2, 4), 16), b = parseInt(h.slice(4, 6), 16);
    return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
  }

  class HeatmapCanvas {
    constructor(container, options) {
      this.container = container;
      this.opts = Object.assign({ onGeneClick: null, onModuleClick: null, onHover: null }, options || {});
      this.canvas = document.createElement("canvas");
      this.canvas.setAttribute("role", "img");
      this.canvas.setAttribute("aria-label", "Clustered heatmap");
      this.canvas.id = "hm-canvas";
      this.canvas.tabIndex = 0;
      container.innerHTML = "";
      container.appendChild(this.canvas);
      this.tooltip = document.getElementById("tooltip");
      this.ctx = this.canvas.getContext("2d");
      this.meta = null;
      this.codes = null;
      this.palette = null;
      this.vmin = -1; this.vmax = 1;
      this.r0 = 0; this.rn = 1;
      this.selected = null;
      this.drag = null;
      this.lastRenderMs = 0;
      this.lastPaintMs = 0;
      this._bind();
      new ResizeObserver(() => this.render()).observe(container);
    }

    setData(meta, codes, palette, vmin, vmax) {
      this.meta = meta;
      this.codes = codes;
      this.rowIndex = new Map(meta.rows.map((g, i) => [g, i]));
      this.r0 = 0;
      this.rn = meta.n_genes;
      this.setColours(palette, vmin, vmax);
    }

    setColours(palette, vmin, vmax) {
      this.palette = palette;
      this.vmin = vmin; this.vmax = vmax;
      if (!this.meta) return;
      const t0 = performance.now();
      this._paint();
      this.lastPaintMs = performance.now() - t0;
      this.render();
    }

    /* one pixel per cell, through a colour table of every code */
    _paint() {
      const m = this.meta, lut = new Uint32Array(65536);
      const cols = this.palette.map(hexToAbgr);
      const span = (m.hi - m.lo) || 1, lo = m.lo, vmin = this.vmin, width = (this.vmax - this.vmin) || 1;
      for (let c = 0; c <= SPAN; c++) {
        const v = lo + c * span / SPAN;
        let t = Math.round((v - vmin) / width * 255);
        t = t < 0 ? 0 : (t > 255 ? 255 : t);
        lut[c] = cols[t];
      }
      lut[NA] = hexToAbgr(NA_COLOR);
      const w = m.n_samples, h = m.n_genes;
      this.off = document.createElement("canvas");
      this.off.width = w; this.off.height = h;
      const img = this.off.getContext("2d").createImageData(w, h);
      const px = new Uint32Array(img.data.buffer);
      const codes = this.codes;
      for (let i = 0, n = codes.length; i < n; i++) px[i] = lut[codes[i]];
      this.off.getContext("2d").putImageData(img, 0, 0);
    }

    value(row, col) {
      const m = this.meta, c = this.codes[row * m.n_samples + col];
      if (c === NA) return null;
      return m.lo + c * ((m.hi - m.lo) || 1) / SPAN;
    }

    resetZoom() { if (this.meta) { this.r0 = 0; this.rn = this.meta.n_genes; this.render(); } }

    zoomTo(r0, rn) {
      const n = this.meta.n_genes;
      rn = Math.max(Math.min(rn, n), Math.min(n, 3));
      this.r0 = Math.max(0, Math.min(r0, n - rn));
      this.rn = rn;
      this.render();
    }

    select(geneId) { this.selected = geneId; this.render(); }

    rowOf(geneId) { return this.rowIndex ? this.rowIndex.get(geneId) : undefined; }

    /* layout in CSS pixels */
    _layout() {
      const m = this.meta, width = Math.max(this.container.clientWidth, 320);
      const treeH = m.col_tree ? 56 : 0, annH = m.annotations.length * 14;
      const showLabels = true;
      const labelW = showLabels ? 130 : 8;
      const x0 = 26, y0 = treeH + annH + 6;
      const bodyH = Math.max(320, Math.min(680, m.n_genes * 16));
      const bodyW = Math.max(120, width - x0 - labelW);
      const sampleH = 96, legendH = 34;
      return { width, height: y0 + bodyH + sampleH + legendH, x0, y0, bodyW, bodyH, treeH, annH, labelW, sampleH };
    }

    render() {
      if (!this.meta || !this.off) return;
      const t0 = performance.now();
      const L = this._layout(), m = this.meta, ctx = this.ctx, dpr = window.devicePixelRatio || 1;
      this.L = L;
      if (this.canvas.width !== Math.round(L.width * dpr) || this.canvas.height !== Math.round(L.height * dpr)) {
        this.canvas.width = Math.round(L.width * dpr); this.canvas.height = Math.round(L.height * dpr);
        this.canvas.style.width = L.width + "px"; this.canvas.style.height = L.height + "px";
      }
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, L.width, L.height);
      const cw = L.bodyW / m.n_samples;
      // sample tree
      if (m.col_tree) {
        ctx.strokeStyle = "#555"; ctx.lineWidth = 1; ctx.beginPath();
        const yb = L.treeH - 2, ht = L.treeH - 6;
        for (const s of m.col_tree) {
          const xs = s.slice(0, 4), ys = s.slice(4, 8);
          ctx.moveTo(L.x0 + xs[0] * cw, yb - ys[0] * ht);
          for (let i = 1; i < 4; i++) ctx.lineTo(L.x0 + xs[i] * cw, yb - ys[i] * ht);
        }
        ctx.stroke();
      }
      // annotation bars
      m.annotations.forEach((bar, b) => {
        const y = L.treeH + b * 14 + 2;
        bar.values.forEach((v, j) => {
          ctx.fillStyle = v === null ? NA_COLOR : (bar.colors[v] || "#999");
          ctx.fillRect(L.x0 + j * cw, y, Math.ceil(cw), 11);
        });
        ctx.fillStyle = "#333"; ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle";
        ctx.fillText(bar.column, L.x0 + L.bodyW + 6, y + 6);
      });
      // body
      const rowsPerPx = this.rn / (L.bodyH * dpr);
      ctx.imageSmoothingEnabled = rowsPerPx > 1;
      ctx.imageSmoothingQuality = "high";
      ctx.drawImage(this.off, 0, this.r0, m.n_samples, this.rn, L.x0, L.y0, L.bodyW, L.bodyH);
      // module bar
      const rh = L.bodyH / this.rn;
      if (m.modules) {
        const first = Math.floor(this.r0), last = Math.min(m.n_genes, Math.ceil(this.r0 + this.rn));
        let start = first;
        for (let r = first + 1; r <= last; r++) {
          if (r === last || m.modules[r] !== m.modules[start]) {
            ctx.fillStyle = m.module_colors[String(m.modules[start])] || "#888";
            const ya = L.y0 + (start - this.r0) * rh, yb = L.y0 + (r - this.r0) * rh;
            ctx.fillRect(6, Math.max(L.y0, ya), 14, Math.min(L.y0 + L.bodyH, yb) - Math.max(L.y0, ya));
            start = r;
          }
        }
      }
      // gene labels (when they fit) and the selected gene
      ctx.font = "11px system-ui, sans-serif"; ctx.textBaseline = "middle"; ctx.fillStyle = "#222";
      if (rh >= 10) {
        const first = Math.floor(this.r0), last = Math.min(m.n_genes, Math.ceil(this.r0 + this.rn));
        for (let r = first; r < last; r++) {
          const y = L.y0 + (r - this.r0 + 0.5) * rh;
          if (y < L.y0 || y > L.y0 + L.bodyH) continue;
          ctx.fillStyle = m.rows[r] === this.selected ? "#b42318" : "#222";
          ctx.fillText(m.labels[r], L.x0 + L.bodyW + 6, y);
        }
      }
      const sel = this.selected !== null ? this.rowOf(this.selected) : undefined;
      if (sel !== undefined && sel >= this.r0 && sel < this.r0 + this.rn) {
        const y = L.y0 + (sel - this.r0) * rh;
        ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
        ctx.strokeRect(L.x0 - 1, y - 1, L.bodyW + 2, Math.max(rh, 2) + 2);
        ctx.fillStyle = "#b42318";
        ctx.beginPath(); ctx.moveTo(L.x0 - 2, y + rh / 2); ctx.lineTo(L.x0 - 9, y + rh / 2 - 5);
        ctx.lineTo(L.x0 - 9, y + rh / 2 + 5); ctx.fill();
        if (rh < 10) { ctx.fillText(m.labels[sel], L.x0 + L.bodyW + 6, y + rh / 2); }
      }
      // sample names
      ctx.save(); ctx.fillStyle = "#222"; ctx.font = (cw >= 9 ? 11 : Math.max(6, cw + 1)) + "px system-ui, sans-serif";
      ctx.textBaseline = "middle"; ctx.textAlign = "right";
      if (cw >= 4) {
        m.cols.forEach((s, j) => {
          ctx.save(); ctx.translate(L.x0 + (j + 0.5) * cw, L.y0 + L.bodyH + 6); ctx.rotate(-Math.PI / 3);
          ctx.fillText(s, 0, 0); ctx.restore();
        });
      }
      ctx.restore();
      // drag band
      if (this.drag && this.drag.moved) {
        ctx.fillStyle = "rgba(31,111,235,.18)"; ctx.strokeStyle = "#1f6feb";
        const ya = Math.min(this.drag.y0, this.drag.y1), yb = Math.max(this.drag.y0, this.drag.y1);
        ctx.fillRect(L.x0, ya, L.bodyW, yb - ya); ctx.strokeRect(L.x0, ya, L.bodyW, yb - ya);
      }
      // colour scale
      const ly = L.y0 + L.bodyH + L.sampleH, lw = Math.min(220, L.bodyW);
      for (let i = 0; i < lw; i++) {
        ctx.fillStyle = this.palette[Math.round(i / (lw - 1) * 255)];
        ctx.fillRect(L.x0 + i, ly, 1.5, 10);
      }
      ctx.fillStyle = "#333"; ctx.textAlign = "center"; ctx.textBaseline = "top"; ctx.font = "11px system-ui, sans-serif";
      ctx.fillText(this.vmin.toFixed(2), L.x0, ly + 12);
      ctx.fillText(this.vmax.toFixed(2), L.x0 + lw, ly + 12);
      ctx.fillText(m.scale === "row" ? "z-score" : (m.scale === "center" ? "centred VST" : "VST"), L.x0 + lw / 2, ly + 12);
      ctx.textAlign = "left";
      this.lastRenderMs = performance.now() - t0;
    }

    _cell(ev) {
      if (!this.meta || !this.L) return null;
      const rect = this.canvas.getBoundingClientRect(), L = this.L, m = this.meta;
      const x = ev.clientX - rect.left, y = ev.clientY - rect.top;
      if (x >= 4 && x < L.x0 - 4 && y >= L.y0 && y < L.y0 + L.bodyH) {
        const row = Math.floor(this.r0 + (y - L.y0) / L.bodyH * this.rn);
        return { part: "modules", row, x, y };
      }
      if (x < L.x0 || x >= L.x0 + L.bodyW) return { part: "none", x, y };
      const col = Math.floor((x - L.x0) / L.bodyW * m.n_samples);
      if (y >= L.treeH && y < L.treeH + L.annH) {
        return { part: "annotation", bar: Math.floor((y - L.treeH) / 14), col, x, y };
      }
      if (y < L.y0 || y >= L.y0 + L.bodyH) return { part: "none", x, y };
      const row = Math.floor(this.r0 + (y - L.y0) / L.bodyH * this.rn);
      return { part: "body", row: Math.min(row, m.n_genes - 1), col: Math.min(col, m.n_samples - 1), x, y };
    }

    _showTip(ev, text) {
      const t = this.tooltip;
      if (!t) return;
      if (!text) { t.hidden = true; return; }
      t.textContent = text; t.hidden = false;
      t.style.left = (ev.clientX + 14) + "px"; t.style.top = (ev.clientY + 12) + "px";
    }

    _bind() {
      const cv = this.canvas;
      cv.addEventListener("mousemove", (ev) => {
        const c = this._cell(ev);
        if (this.drag) {
          this.drag.y1 = Math.max(this.L.y0, Math.min(c ? c.y : this.drag.y1, this.L.y0 + this.L.bodyH));
          if (Math.abs(this.drag.y1 - this.drag.y0) > 4) this.drag.moved = true;
          this.render();
          return;
        }
        if (!c || c.part === "none") { this._showTip(ev, null); return; }
        const m = this.meta;
        let info = null, text = null;
        if (c.part === "body") {
          const v = this.value(c.row, c.col);
          info = { gene: m.rows[c.row], label: m.labels[c.row], sample: m.cols[c.col], value: v,
                   module: m.modules ? m.modules[c.row] : null, row: c.row, col: c.col };
          text = `${info.label}${info.label !== info.gene ? " (" + info.gene + ")" : ""}\n${info.sample}\n` +
                 `value ${v === null ? "missing" : v.toFixed(3)}` + (info.module ? `\nmodule ${info.module}` : "");
        } else if (c.part === "modules" && m.modules) {
          const mod = m.modules[Math.min(c.row, m.n_genes - 1)];
          const s = m.module_summaries.find((x) => x.module === mod);
          info = { module: mod }; text = s ? s.text : `module ${mod}`;
        } else if (c.part === "annotation" && m.annotations[c.bar]) {
          const bar = m.annotations[c.bar];
          text = `${bar.column}: ${bar.values[c.col]}\n${m.cols[c.col]}`;
        }
        this.lastHover = info;
        this._showTip(ev, text);
        if (this.opts.onHover) this.opts.onHover(info);
      });
      cv.addEventListener("mouseleave", (ev) => { this._showTip(ev, null); });
      cv.addEventListener("wheel", (ev) => {
        const c = this._cell(ev);
        if (!c || (c.part !== "body" && c.part !== "modules")) return;
        ev.preventDefault();
        const f = ev.deltaY > 0 ? 1.25 : 0.8;
        const frac = (c.y - this.L.y0) / this.L.bodyH, anchor = this.r0 + frac * this.rn;
        const rn = this.rn * f;
        this.zoomTo(anchor - frac * rn, rn);
      }, { passive: false });
      cv.addEventListener("mousedown", (ev) => {
        const c = this._cell(ev);
        if (c && c.part === "body") this.drag = { y0: c.y, y1: c.y, moved: false, cell: c };
      });
      window.addEventListener("mouseup", (ev) => {
        const d = this.drag;
        if (!d) return;
        this.drag = null;
        if (d.moved) {
          this._suppressClick = true;
          const L = this.L;
          const a = this.r0 + (Math.min(d.y0, d.y1) - L.y0) / L.bodyH * this.rn;
          const b = this.r0 + (Math.max(d.y0, d.y1) - L.y0) / L.bodyH * this.rn;
          this.zoomTo(Math.floor(a), Math.max(3, Math.ceil(b) - Math.floor(a)));
        } else {
          this.render();
        }
      });
      cv.addEventListener("click", (ev) => {
        if (this._suppressClick) { this._suppressClick = false; return; }
        const c = this._cell(ev);
        if (!c) return;
        if (c.part === "body" && this.opts.onGeneClick) this.opts.onGeneClick(this.meta.rows[c.row]);
        if (c.part === "modules" && this.meta.modules && this.opts.onModuleClick) {
          this.opts.onModuleClick(this.meta.modules[Math.min(c.row, this.meta.n_genes - 1)]);
        }
      });
      cv.addEventListener("dblclick", () => this.resetZoom());
    }
  }

  window.HeatmapCanvas = HeatmapCanvas;
}());
