// assignscope report: the page's behaviour. Plain JS, no library, no network:
// everything it draws comes from the JSON inlined as #assignscope-data
// (schema assignscope.report/1, src/render/report.h).
'use strict';
(function () {
  const t0 = performance.now();
  const DATA = JSON.parse(document.getElementById('assignscope-data').textContent);
  const parseMs = performance.now() - t0;
  const NS = 'http://www.w3.org/2000/svg';
  const KIND_NAMES = { pos_to_neg: 'pos→neg', neg_to_pos: 'neg→pos', changed_gt: 'changed GT', ignored: 'ignored' };
  const state = { image: 0, side: '0', selected: -1, hidden: new Set(), sortKey: null, sortDir: 1, allRows: false };
  const api = { data: DATA, state: state, ready: false, openMs: 0, select: selectGt, showImage: showImage, setSide: setSide };
  window.assignscope = api;

  // ---- helpers ----
  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  }
  function svgEl(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function fmt(v) {
    if (v === null || v === undefined) return '–';
    if (typeof v === 'number' && !Number.isInteger(v)) return String(+v.toPrecision(4));
    return String(v);
  }
  function img() { return DATA.images[state.image]; }
  function sideIndex() { return state.side === 'diff' ? 0 : +state.side; }

  // Per image, computed once: each prior's level, and per side the candidate
  // pairs indexed by prior and by GT, and the multi-match sets.
  const cache = new Map();
  function derived(imageIndex) {
    if (cache.has(imageIndex)) return cache.get(imageIndex);
    const im = DATA.images[imageIndex];
    const n = im.num_priors;
    const level = new Int32Array(n);
    let px = im.px, py = im.py;
    if (im.grid) {  // per level (x0, y0, stride x, stride y, columns), row by row
      px = new Float64Array(n);
      py = new Float64Array(n);
    }
    let at = 0;
    im.levels.forEach((l, li) => {
      const g = im.grid ? im.grid[li] : null;
      for (let k = 0; k < l.priors && at < n; ++k, ++at) {
        level[at] = li;
        if (g) { px[at] = g[0] + g[2] * (k % g[4]); py[at] = g[1] + g[3] * Math.floor(k / g[4]); }
      }
    });
    const sides = im.sides.map((s) => {
      const c = s.candidates;
      const byPrior = new Map();
      const byGt = new Map();
      for (let k = 0; k < c.prior.length; ++k) {
        if (!byPrior.has(c.prior[k])) byPrior.set(c.prior[k], []);
        byPrior.get(c.prior[k]).push(k);
        if (!byGt.has(c.gt[k])) byGt.set(c.gt[k], []);
        byGt.get(c.gt[k]).push(k);
      }
      let matchesOf = null;  // prior -> [gt...] (multi-match assigners)
      if (s.matches) {
        matchesOf = new Map();
        for (let k = 0; k < s.matches.prior.length; ++k) {
          const p = s.matches.prior[k];
          if (!matchesOf.has(p)) matchesOf.set(p, []);
          matchesOf.get(p).push(s.matches.gt[k]);
        }
      }
      return { byPrior, byGt, matchesOf, runs: c.inside_runs };
    });
    const d = { level, sides, px, py };
    cache.set(imageIndex, d);
    return d;
  }
  function gtsOf(s, d, i) {  // the GTs prior i serves on side s
    if (d.matchesOf) return d.matchesOf.get(i) || [];
    return s.gt[i] > 0 ? [s.gt[i] - 1] : [];
  }
  function colour(g) { const c = img().gt_colours; return g >= 0 && g < c.length ? c[g] : '#999'; }
  function stride(li) { const l = img().levels[li]; return l && l.stride > 0 ? l.stride : 8; }

  // ---- the views: image, GT boxes, one layer per level ----
  const views = [];  // {svg, side, layers: [g], selection: g}
  function makeView(title, sideIdx, kind) {
    const im = img();
    const [x0, y0, w, h] = im.canvas;
    const width = state.side === 'diff' ? 460 : 720;
    const div = document.createElement('div');
    div.className = 'view';
    div.dataset.view = kind;
    div.innerHTML = '<h3>' + esc(title) + '</h3>';
    const svg = svgEl('svg', { viewBox: x0 + ' ' + y0 + ' ' + w + ' ' + h, width: width, height: Math.round(width * h / w),
      class: 'panel', 'data-side': String(sideIdx) });
    div.appendChild(svg);
    if (im.image) svgEl('image', { href: im.image, x: 0, y: 0, width: w + x0, height: h + y0, class: 'input-image',
      preserveAspectRatio: 'none', opacity: 0.55 }, svg);
    const view = { svg, side: sideIdx, kind, layers: [], scale: width / w };
    im.levels.forEach((l, li) => {
      const g = svgEl('g', { class: 'layer', 'data-level': li }, svg);
      if (state.hidden.has(li)) g.style.display = 'none';
      view.layers.push(g);
    });
    const gts = svgEl('g', { class: 'gts' }, svg);
    im.gt_boxes.forEach((b, g) => {
      const r = svgEl('rect', { class: 'gt', 'data-gt': g, x: b[0], y: b[1], width: Math.max(b[2] - b[0], 0),
        height: Math.max(b[3] - b[1], 0), stroke: colour(g), 'vector-effect': 'non-scaling-stroke' }, gts);
      const t = svgEl('title', {}, r);
      t.textContent = 'GT ' + g + ' · label ' + im.gt_labels[g];
    });
    view.selection = svgEl('g', { class: 'selection' }, svg);
    $('views').appendChild(div);
    views.push(view);
    return view;
  }
  function radius(li, view) { return Math.max(stride(li) * 0.28, 2 / view.scale); }

  function drawPositives(view) {
    const im = img(), d = derived(state.image);
    const s = im.sides[view.side];
    const frags = view.layers.map(() => document.createDocumentFragment());
    for (let i = 0; i < s.gt.length; ++i) {
      if (!(i < d.px.length) || d.px[i] === null || d.py[i] === null) continue;  // no position (no priors in the dump)
      const li = d.level[i];
      const r = radius(li, view);
      if (s.gt[i] > 0) {
        const g = s.gt[i] - 1;
        svgEl('circle', { class: 'positive', cx: d.px[i], cy: d.py[i], r: r, fill: colour(g),
          'data-prior': i, 'data-gt': g, 'data-level': li }, frags[li]);
      } else if (s.gt[i] < 0) {
        const x = d.px[i], y = d.py[i];
        svgEl('path', { class: 'ignored', d: 'M' + (x - r) + ' ' + (y - r) + 'L' + (x + r) + ' ' + (y + r) + 'M' + (x - r) +
          ' ' + (y + r) + 'L' + (x + r) + ' ' + (y - r), 'data-prior': i, 'data-level': li,
          'vector-effect': 'non-scaling-stroke' }, frags[li]);
      }
    }
    frags.forEach((f, li) => view.layers[li].appendChild(f));
  }

  function drawFlips(view) {
    const im = img(), d = derived(state.image);
    const a = im.sides[0], b = im.sides[1];
    const frags = view.layers.map(() => document.createDocumentFragment());
    const f = im.diff.flips;
    for (let k = 0; k < f.prior.length; ++k) {
      const i = f.prior[k], li = d.level[i], kind = f.kind[k];
      const ga = gtsOf(a, d.sides[0], i), gb = gtsOf(b, d.sides[1], i);
      const attrs = { class: 'flip', cx: d.px[i], cy: d.py[i], r: radius(li, view), 'data-prior': i, 'data-kind': kind,
        'data-level': li, 'vector-effect': 'non-scaling-stroke' };
      if (kind === 'pos_to_neg') attrs.stroke = colour(ga[0]);
      if (kind === 'neg_to_pos') { attrs.fill = colour(gb[0]); attrs.stroke = '#000'; }
      if (kind === 'changed_gt') { attrs.fill = colour(gb[0]); attrs.stroke = colour(ga[0]); }
      if (kind === 'ignored') attrs.stroke = '#555';
      svgEl('circle', attrs, frags[li]);
    }
    frags.forEach((fr, li) => view.layers[li].appendChild(fr));
  }

  // ---- tooltip: a prior's index, level, IoU, GT and cost terms ----
  const tooltip = $('tooltip');
  function priorHtml(i, sideIdx) {
    const im = img(), d = derived(state.image);
    const s = im.sides[sideIdx], ds = d.sides[sideIdx];
    const li = d.level[i];
    const gts = gtsOf(s, ds, i);
    let html = '<b>prior ' + i + '</b> · level ' + li + ' (stride ' + fmt(stride(li)) + ') · (' + fmt(d.px[i]) + ', ' +
      fmt(d.py[i]) + ')<br>';
    html += DATA.sides.length > 1 ? 'side ' + esc(DATA.sides[sideIdx].label) + ': ' : '';
    if (s.gt[i] > 0) html += 'positive for <span class="swatch" style="background:' + colour(gts[0]) + '"></span>GT ' +
      gts.join(', GT ') + ' (label ' + im.gt_labels[s.gt[i] - 1] + ')';
    else html += s.gt[i] < 0 ? 'ignored' : 'negative';
    if (s.iou) html += ' · IoU ' + fmt(s.iou[i]);
    if (s.loss) html += '<div class="loss">' + esc(s.loss.head) + ': ' +
      s.loss.components.map((c, k) => esc(c) + ' ' + fmt(s.loss.per_prior[k][i])).join(' · ') + '</div>';
    const pairs = ds.byPrior.get(i) || [];
    if (pairs.length) {
      const c = s.candidates;
      html += '<table><tr><th>GT</th><th>cost</th>' + s.cost_terms.map((t) => '<th>' + esc(t) + '</th>').join('') +
        '<th>IoU</th><th>inside</th><th>picked</th><th>assigned</th></tr>';
      for (const k of pairs) {
        const g = c.gt[k];
        html += '<tr data-gt="' + g + '"><td><span class="swatch" style="background:' + colour(g) + '"></span>' + g +
          '</td><td>' + fmt(c.cost[k]) + '</td>' + c.terms.map((col) => '<td>' + fmt(col[k]) + '</td>').join('') +
          '<td>' + fmt(c.iou[k]) + '</td><td>' + ((c.flags[k] & 1) ? 'yes' : 'no') + '</td><td>' +
          ((c.flags[k] & 2) ? 'yes' : 'no') + '</td><td>' + (gts.indexOf(g) >= 0 ? 'yes' : 'no') + '</td></tr>';
      }
      html += '</table>';
    }
    // GTs whose candidate the prior is, with its costs not kept (report.h).
    const detailed = new Set(pairs.map((k) => s.candidates.gt[k]));
    const also = [];
    ds.runs.forEach((r, g) => {
      if (detailed.has(g)) return;
      for (let k = 0; k < r.length; k += 2) if (i >= r[k] && i < r[k] + r[k + 1]) { also.push(g); break; }
    });
    if (also.length) html += '<div class="also" data-gts="' + also.join(' ') + '">also inside GT ' + also.slice(0, 20).join(', ') +
      (also.length > 20 ? ' …' : '') + ' (costs kept for each GT\'s ' + s.candidates.detail_per_gt + ' cheapest, picked and assigned pairs only)</div>';
    if (!pairs.length && !also.length) html += '<br><i>no candidate pair recorded for this prior</i>';
    return html;
  }
  function showTooltip(i, sideIdx, ev) {
    tooltip.innerHTML = priorHtml(i, sideIdx);
    tooltip.dataset.prior = i;
    tooltip.dataset.level = derived(state.image).level[i];
    tooltip.hidden = false;
    const x = Math.min(ev.clientX + 14, window.innerWidth - tooltip.offsetWidth - 4);
    const y = Math.min(ev.clientY + 14, window.innerHeight - tooltip.offsetHeight - 4);
    tooltip.style.left = Math.max(0, x) + 'px';
    tooltip.style.top = Math.max(0, y) + 'px';
  }
  function nearestPrior(view, ev) {
    const ctm = view.svg.getScreenCTM();
    if (!ctm) return -1;
    const p = new DOMPoint(ev.clientX, ev.clientY).matrixTransform(ctm.inverse());
    const im = img(), d = derived(state.image);
    let best = -1, bestD = Infinity;
    for (let i = 0; i < im.num_priors; ++i) {
      const li = d.level[i];
      if (state.hidden.has(li)) continue;
      const dx = d.px[i] - p.x, dy = d.py[i] - p.y, dd = dx * dx + dy * dy;
      const reach = stride(li) * 0.5;
      if (dd <= reach * reach && dd < bestD) { best = i; bestD = dd; }
    }
    return best;
  }
  function attachHover(view) {
    view.svg.addEventListener('mousemove', (ev) => {
      const t = ev.target;
      let i = t.dataset && t.dataset.prior !== undefined ? +t.dataset.prior : nearestPrior(view, ev);
      if (i < 0) { tooltip.hidden = true; return; }
      showTooltip(i, view.side, ev);
    });
    view.svg.addEventListener('mouseleave', () => { tooltip.hidden = true; });
    view.svg.addEventListener('click', (ev) => {
      const t = ev.target;
      if (t.classList.contains('gt')) selectGt(+t.dataset.gt);
    });
  }

  // ---- selecting a GT: candidates, top-k picks, positives, lost priors ----
  function selectGt(g) {
    state.selected = g;
    const im = img(), d = derived(state.image);
    let info = '';
    for (const view of views) {
      view.selection.textContent = '';
      for (const r of view.svg.querySelectorAll('rect.gt')) {
        r.classList.toggle('selected', +r.dataset.gt === g);
        r.classList.toggle('dimmed', g >= 0 && +r.dataset.gt !== g);
      }
      for (const c of view.svg.querySelectorAll('circle.positive')) c.classList.toggle('dimmed', g >= 0 && +c.dataset.gt !== g);
      if (g < 0 || view.kind === 'flips') continue;
      const s = im.sides[view.side], ds = d.sides[view.side], c = s.candidates;
      const pairs = ds.byGt.get(g) || [];
      const frag = document.createDocumentFragment();
      const mark = (cls, i, extra) => {
        const li = d.level[i];
        const attrs = Object.assign({ class: cls, cx: d.px[i], cy: d.py[i], r: radius(li, view) * (cls === 'sel-candidate' ? 1.5 : 1.25),
          'data-prior': i, 'data-level': li, 'vector-effect': 'non-scaling-stroke' }, extra || {});
        svgEl('circle', attrs, frag);
      };
      let candidates = 0, picked = 0;
      const lost = [];
      const runs = ds.runs[g] || [];
      for (let k = 0; k < runs.length; k += 2)
        for (let i = runs[k]; i < runs[k] + runs[k + 1]; ++i) { mark('sel-candidate', i); ++candidates; }
      for (const k of pairs) {
        const i = c.prior[k];
        if (c.flags[k] & 2) {
          mark('sel-picked', i); ++picked;
          if (gtsOf(s, ds, i).indexOf(g) < 0) lost.push(i);
        }
      }
      const positives = [];
      for (let i = 0; i < s.gt.length; ++i) if (gtsOf(s, ds, i).indexOf(g) >= 0) positives.push(i);
      for (const i of positives) mark('sel-positive', i, { fill: colour(g) });
      for (const i of lost) mark('sel-lost', i, { 'data-winner': s.gt[i] > 0 ? s.gt[i] - 1 : -1 });
      view.selection.appendChild(frag);
      const b = im.gt_boxes[g];
      info += '<div data-side="' + view.side + '"><b><span class="swatch" style="background:' + colour(g) + '"></span>GT ' + g +
        '</b> · label ' + im.gt_labels[g] + ' · box (' + b.map(fmt).join(', ') + ')' +
        (DATA.sides.length > 1 ? ' · ' + esc(DATA.sides[view.side].label) : '') + '<br>' +
        (s.dynamic_ks && s.dynamic_ks[g] !== undefined ? 'dynamic k ' + s.dynamic_ks[g] + ' · ' : '') +
        candidates + ' candidates · ' + picked + ' picked · <span data-count="positives">' + positives.length +
        '</span> positives · <span data-count="lost">' + lost.length + '</span> lost' +
        (lost.length ? ': ' + lost.slice(0, 30).map((i) => 'prior ' + i + ' → ' + (s.gt[i] > 0 ? 'GT ' + (s.gt[i] - 1) : 'background')).join(', ') +
          (lost.length > 30 ? ' …' : '') : '') + '</div>';
    }
    $('selection-info').innerHTML = g < 0 ? 'Click a GT box or a table row to see its candidates, top-k picks, positives and lost priors.' : info;
    if (g >= 0 && !document.querySelector('#gt-table tbody tr[data-gt="' + g + '"]')) renderTable();
    for (const tr of document.querySelectorAll('#gt-table tbody tr, #diff-table tbody tr')) tr.classList.toggle('selected', +tr.dataset.gt === g);
  }

  // ---- the per-GT table, sortable ----
  function renderTable() {
    const s = img().sides[sideIndex()];
    const cols = s.gt_table.columns;
    const thead = $('gt-table').tHead, tbody = $('gt-table').tBodies[0];
    thead.innerHTML = '<tr>' + cols.map((c) => '<th data-key="' + esc(c) + '"' + (state.sortKey === c ? ' class="sorted-' +
      (state.sortDir > 0 ? 'asc' : 'desc') + '"' : '') + '>' + esc(c) + '</th>').join('') + '</tr>';
    const rows = s.gt_table.rows.slice();
    if (state.sortKey !== null) {
      const k = cols.indexOf(state.sortKey);
      rows.sort((x, y) => {
        const a = x[k], b = y[k];
        if (a === b) return x[0] - y[0];
        if (a === null) return 1;
        if (b === null) return -1;
        return (a < b ? -1 : 1) * state.sortDir;
      });
    }
    // At most kTableRows rows (and the selected GT's): a crowd's 1,000-row
    // table would take most of the page's first layout. "show all" lifts it.
    const shown = state.allRows ? rows : rows.slice(0, kTableRows);
    if (state.selected >= 0 && !shown.some((r) => r[0] === state.selected)) {
      const sel = rows.find((r) => r[0] === state.selected);
      if (sel) shown.push(sel);
    }
    $('gt-table-more').hidden = shown.length >= rows.length;
    $('gt-table-more').textContent = 'show all ' + rows.length + ' GTs (' + shown.length + ' shown)';
    tbody.innerHTML = shown.map((r) => '<tr data-gt="' + r[0] + '"' + (r[0] === state.selected ? ' class="selected"' : '') + '>' +
      r.map((v, j) => '<td' + (cols[j] === 'starved' && v ? ' class="starved"' : '') + '>' +
        (j === 0 ? '<span class="swatch" style="background:' + colour(v) + '"></span>' : '') + esc(fmt(v)) + '</td>').join('') +
      '</tr>').join('');
  }
  const kTableRows = 200;
  $('gt-table-more').addEventListener('click', () => { state.allRows = true; renderTable(); });
  $('gt-table').tHead.addEventListener('click', (ev) => {
    const th = ev.target.closest('th');
    if (!th) return;
    if (state.sortKey === th.dataset.key) state.sortDir = -state.sortDir;
    else { state.sortKey = th.dataset.key; state.sortDir = 1; }
    renderTable();
  });
  $('gt-table').tBodies[0].addEventListener('click', (ev) => {
    const tr = ev.target.closest('tr');
    if (tr) selectGt(+tr.dataset.gt);
  });

  // ---- the diff panel: counts as `assignscope diff` gives them, per-GT Jaccard ----
  function renderDiff() {
    const panel = $('diff-panel');
    const im = img();
    if (!im.diff) { panel.innerHTML = ''; return; }
    const c = im.diff.counts;
    let html = '<h2>Diff: ' + esc(DATA.sides[0].label) + ' (a) vs ' + esc(DATA.sides[1].label) + ' (b)</h2>' +
      '<div id="diff-counts" data-pos-to-neg="' + c.pos_to_neg + '" data-neg-to-pos="' + c.neg_to_pos + '" data-changed-gt="' +
      c.changed_gt + '" data-ignored-changes="' + c.ignored_changes + '" data-same="' + c.same + '">' +
      c.pos_to_neg + ' pos→neg · ' + c.neg_to_pos + ' neg→pos · ' + c.changed_gt + ' changed GT · ' + c.ignored_changes +
      ' ignored changes · positives ' + c.positives_a + ' / ' + c.positives_b + ' (' + c.positives_same + ' the same)</div>';
    html += '<table id="diff-table"><thead><tr><th>GT</th><th>pos a</th><th>pos b</th><th>common</th><th>Jaccard</th><th>k a</th><th>k b</th></tr></thead><tbody>' +
      im.diff.gts.slice(0, kTableRows).map((g) => '<tr data-gt="' + g.gt + '"' + (g.jaccard < 1 ? ' class="changed"' : '') + '><td><span class="swatch" style="background:' +
        colour(g.gt) + '"></span>' + g.gt + '</td><td>' + g.positives_a + '</td><td>' + g.positives_b + '</td><td>' + g.common + '</td><td>' +
        fmt(g.jaccard) + '</td><td>' + fmt(g.k_a) + '</td><td>' + fmt(g.k_b) + '</td></tr>').join('') + '</tbody></table>' +
      (im.diff.gts.length > kTableRows ? '<div>the ' + kTableRows + ' worst of ' + im.diff.gts.length + ' GTs</div>' : '');
    panel.innerHTML = html;
    $('diff-table').tBodies[0].addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr');
      if (tr) selectGt(+tr.dataset.gt);
    });
  }

  // ---- charts: positives per level, GTs and positives per scale ----
  function barChart(svg, groups, series) {
    svg.textContent = '';
    const W = 400, H = 150, pad = 22, top = 30;  // fixed: reading the laid-out size would force a layout of the whole page
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    let max = 1;
    for (const g of groups) for (const v of g.values) max = Math.max(max, v);
    const gw = (W - pad) / Math.max(groups.length, 1), bw = Math.max(2, (gw - 8) / series.length);
    groups.forEach((g, gi) => {
      g.values.forEach((v, si) => {
        const h = (H - pad - top) * v / max;
        const x = pad + gi * gw + 4 + si * bw, y = H - pad - h;
        const r = svgEl('rect', { class: 'bar', x: x, y: y, width: bw - 1, height: h, fill: series[si].colour,
          'data-group': g.label, 'data-series': series[si].name, 'data-value': v }, svg);
        svgEl('title', {}, r).textContent = g.label + ' · ' + series[si].name + ': ' + v;
        svgEl('text', { x: x + (bw - 1) / 2, y: y - 2, 'text-anchor': 'middle' }, svg).textContent = v;
      });
      svgEl('text', { x: pad + gi * gw + gw / 2, y: H - 6, 'text-anchor': 'middle' }, svg).textContent = g.label;
    });
    let lx = pad;  // the legend, one line: each entry as wide as its text
    series.forEach((s) => {
      svgEl('rect', { x: lx, y: 4, width: 8, height: 8, fill: s.colour }, svg);
      svgEl('text', { x: lx + 11, y: 12 }, svg).textContent = s.name;
      lx += 24 + 5.5 * s.name.length;
    });
  }
  function renderCharts() {
    const im = img();
    const shown = state.side === 'diff' ? [0, 1] : [sideIndex()];
    const palette = ['#2265c3', '#e25a9f', '#1a934b'];
    barChart($('chart-levels'), im.levels.map((l, li) => ({ label: 'L' + li + ' /' + fmt(l.stride),
      values: shown.map((s) => { const st = im.sides[s].level_stats[li]; return st ? st.positives : 0; }) })),
    shown.map((s, k) => ({ name: 'positives ' + DATA.sides[s].label, colour: palette[k] })));
    const scaleSeries = [{ name: 'GTs', colour: '#999' }].concat(shown.map((s, k) => ({ name: 'positives ' + DATA.sides[s].label, colour: palette[k] })));
    barChart($('chart-scales'), im.sides[0].scale_stats.map((sc, k) => ({ label: sc.scale,
      values: [sc.gts].concat(shown.map((s) => im.sides[s].scale_stats[k].positives)) })), scaleSeries);
  }

  // ---- the page: header, navigator, layers, views ----
  function renderSummary() {
    const im = img();
    const parts = [];
    const shown = state.side === 'diff' ? [0, 1] : [sideIndex()];
    for (const s of shown) {
      const m = im.sides[s].summary;
      parts.push((shown.length > 1 || DATA.sides.length > 1 ? esc(DATA.sides[s].label) + ': ' : '') + '<span data-count="positives" data-side="' + s + '">' +
        m.positives + '</span> positives · ' + m.ignored + ' ignored · ' + m.negatives + ' negatives · ' +
        (m.starved_gts ? '<span class="starved">' + m.starved_gts + ' starved GTs</span>' : 'no starved GT') +
        (im.sides[s].loss ? ' · <span data-loss="' + s + '">' + esc(im.sides[s].loss.head) + ' ' +
          im.sides[s].loss.components.map((c, k) => esc(c) + ' ' + fmt(im.sides[s].loss.total[k])).join(' · ') + '</span>' : ''));
    }
    $('image-summary').innerHTML = (im.name ? esc(im.name) + ' · ' : '') + im.num_priors + ' priors · ' + im.gt_boxes.length + ' GTs · ' +
      parts.join(' | ');
    const notes = [];
    for (const s of shown) {
      for (const n of im.sides[s].notes) notes.push('<div>note: ' + esc(n) + '</div>');
      for (const w of im.sides[s].warnings) notes.push('<div class="warning">warning: ' + esc(w) + '</div>');
    }
    $('notes').innerHTML = notes.join('');
  }
  function renderLayers() {
    const im = img();
    $('layers').innerHTML = 'levels ' + im.levels.map((l, li) => '<label><input type="checkbox" class="layer-toggle" data-level="' + li + '"' +
      (state.hidden.has(li) ? '' : ' checked') + '> L' + li + ' (stride ' + fmt(l.stride) + ', ' + l.priors + ')</label>').join(' ');
  }
  $('layers').addEventListener('change', (ev) => {
    const li = +ev.target.dataset.level;
    if (ev.target.checked) state.hidden.delete(li); else state.hidden.add(li);
    for (const g of document.querySelectorAll('g.layer[data-level="' + li + '"]')) g.style.display = ev.target.checked ? '' : 'none';
  });

  const timings = {};  // ms per step of the last render, for the browser test's report
  api.timings = timings;
  function timed(what, f) {
    const t = performance.now();
    const r = f();
    timings[what] = +(performance.now() - t).toFixed(1);
    return r;
  }
  function render() {
    views.length = 0;
    $('views').textContent = '';
    tooltip.hidden = true;
    timed('views', () => {
      if (state.side === 'diff') {
        drawPositives(makeView('a: ' + DATA.sides[0].label, 0, 'a'));
        drawPositives(makeView('b: ' + DATA.sides[1].label, 1, 'b'));
        drawFlips(makeView('priors that differ (hollow: positive on a only, filled: on b only, ringed: changed GT, grey: ignored)', 0, 'flips'));
      } else {
        const s = sideIndex();
        drawPositives(makeView(DATA.sides[s].label, s, 'side'));
      }
      views.forEach(attachHover);
    });
    timed('summary', () => { renderLayers(); renderSummary(); });
    timed('table', renderTable);
    timed('diff', renderDiff);
    timed('charts', renderCharts);
    timed('select', () => selectGt(state.selected < img().gt_boxes.length ? state.selected : -1));
  }
  function showImage(i) {
    state.image = i;
    state.selected = -1;
    $('image-select').value = String(i);
    render();
  }
  function setSide(v) {
    state.side = String(v);
    $('side-select').value = state.side;
    render();
  }

  document.title = document.title || 'assignscope report';
  $('title').textContent = 'assignscope report · ' + DATA.sides.map((s) => s.label).join(' vs ');
  $('subtitle').textContent = DATA.source + (DATA.images.length > 1 ? ' · ' + DATA.images.length + ' images' : '') + ' · ' +
    DATA.tool.name + ' ' + DATA.tool.version;
  $('image-select').innerHTML = DATA.images.map((im, i) => '<option value="' + i + '">' + i + (im.name ? ': ' + esc(im.name) : '') + '</option>').join('');
  $('image-nav').hidden = DATA.images.length < 2;
  $('image-select').addEventListener('change', (ev) => showImage(+ev.target.value));
  $('image-prev').addEventListener('click', () => showImage((state.image + DATA.images.length - 1) % DATA.images.length));
  $('image-next').addEventListener('click', () => showImage((state.image + 1) % DATA.images.length));
  $('side-select').innerHTML = DATA.sides.map((s, i) => '<option value="' + i + '">' + (DATA.sides.length > 1 ? 'abc'[i] + ': ' : '') + esc(s.label) + '</option>').join('') +
    (DATA.sides.length > 1 ? '<option value="diff">diff (a vs b)</option>' : '');
  $('side-nav').hidden = DATA.sides.length < 2;
  $('side-select').addEventListener('change', (ev) => setSide(ev.target.value));
  $('clear-selection').addEventListener('click', () => selectGt(-1));
  document.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') selectGt(-1); });
  if (DATA.sides.length > 1) state.side = 'diff', $('side-select').value = 'diff';
  render();
  api.openMs = performance.now() - t0;
  timings.parse = +parseMs.toFixed(1);
  api.ready = true;
  document.body.dataset.ready = '1';
})();
