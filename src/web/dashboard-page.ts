// The dashboard page: one self-contained HTML document with its CSS and JavaScript inline — no external assets,
// no CDN, no build step, because the cluster may be offline. The script fetches dashboard/api/state and
// renders it, again every few seconds. Everything that comes from the cluster (names, reasons, messages) is
// put into the page as text nodes or attribute values through the DOM, never as markup, so nothing a user
// wrote can become HTML or script. The Content-Security-Policy the page is served with allows only this
// script and this style (by hash) and requests to its own origin.
import { createHash } from 'node:crypto';

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const style = `
:root {
  --bg: #f4f6f8; --card: #fff; --ink: #1b2430; --muted: #5c6b7a; --line: #dde3e9; --accent: #1c64f2;
  --safe: #2f9e44; --monitor: #e6a700; --rollback-ready: #e8590c; --block: #c92a2a; --none: #98a2ad;
}
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg); }
header { display: flex; align-items: baseline; gap: 16px; padding: 12px 20px; background: #14202e; color: #fff; }
header h1 { margin: 0; font-size: 18px; font-weight: 600; letter-spacing: .2px; }
header .scope { color: #b8c4d0; }
header .status { margin-left: auto; color: #b8c4d0; font-size: 13px; }
header .status.error { color: #ffb4a8; font-weight: 600; }
main { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 16px; padding: 16px 20px; }
@media (max-width: 1100px) { main { grid-template-columns: minmax(0, 1fr); } }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; min-width: 0; }
.card h2 { margin: 0 0 10px; font-size: 15px; font-weight: 600; }
.wide { grid-column: 1 / -1; }
.muted { color: var(--muted); }
.empty { color: var(--muted); font-style: italic; padding: 8px 0; }
table { border-collapse: collapse; width: 100%; }
th { text-align: left; font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase;
  letter-spacing: .4px; border-bottom: 1px solid var(--line); padding: 6px 8px; }
td { border-bottom: 1px solid var(--line); padding: 8px; vertical-align: top; }
tr.rollout { cursor: pointer; }
tr.rollout:hover { background: #f0f5ff; }
tr.rollout[aria-selected="true"] { background: #e3edff; box-shadow: inset 3px 0 0 var(--accent); }
tr.rollout:focus { outline: 2px solid var(--accent); outline-offset: -2px; }
.name { font-weight: 600; overflow-wrap: anywhere; }
.table-wrap { overflow-x: auto; }
td.reasons-cell { min-width: 180px; }
.sub { color: var(--muted); font-size: 12px; }
.meter { width: 120px; height: 10px; border-radius: 5px; background: #e9edf1; overflow: hidden; margin-top: 4px; }
.meter > span { display: block; height: 100%; border-radius: 5px; }
.score { font-variant-numeric: tabular-nums; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
  white-space: nowrap; color: #fff; background: var(--none); }
.lvl-safe { background: var(--safe); } .lvl-monitor { background: var(--monitor); color: #2b2100; }
.lvl-rollback-ready { background: var(--rollback-ready); } .lvl-block { background: var(--block); }
.fill-safe { background: var(--safe); } .fill-monitor { background: var(--monitor); }
.fill-rollback-ready { background: var(--rollback-ready); } .fill-block { background: var(--block); }
.fill-none { background: var(--none); }
.out-succeeded { background: var(--safe); } .out-rolled-back { background: var(--block); }
.out-running { background: var(--accent); } .out-failed { background: #7d1a1a; } .out-superseded { background: var(--none); }
.st-True { background: var(--safe); } .st-False { background: var(--block); } .st-Unknown { background: var(--none); }
ul.reasons { margin: 0; padding-left: 16px; }
ul.reasons li.hard { color: var(--block); font-weight: 600; }
.charts { display: grid; gap: 12px; }
.chart h3 { margin: 4px 0; font-size: 13px; font-weight: 600; }
.chart svg { width: 100%; height: auto; display: block; }
.legend { display: flex; flex-wrap: wrap; gap: 12px; font-size: 12px; color: var(--muted); margin: 4px 0 0; }
.legend i { display: inline-block; width: 14px; height: 3px; vertical-align: middle; margin-right: 4px; }
.legend i.value { background: var(--accent); } .legend i.limit { border-top: 2px dashed var(--block); height: 0; }
.legend i.rollback { background: var(--block); width: 3px; height: 12px; }
.summary { margin: 0 0 8px; }
.actions { margin: 10px 0 0; padding: 0; list-style: none; font-size: 13px; }
.actions li { padding: 3px 0; border-top: 1px dashed var(--line); }
.actions .type { font-weight: 600; margin-right: 6px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0 0 12px; }
dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; font-variant-numeric: tabular-nums; }
.bars { display: grid; grid-template-columns: max-content 1fr max-content; gap: 4px 8px; align-items: center; font-size: 13px; }
.bars .track { height: 8px; background: #e9edf1; border-radius: 4px; overflow: hidden; }
.bars .track > span { display: block; height: 100%; background: var(--accent); }
.bars.drift .track > span { background: var(--rollback-ready); }
.bars .v { font-variant-numeric: tabular-nums; color: var(--muted); }
h4 { margin: 14px 0 6px; font-size: 13px; }
`;

// The page's script. Plain JavaScript with no template literals, so it sits in this module as it is.
const script = `
(function () {
  'use strict';
  var page = document.getElementById('page');
  var refreshMs = Number(page.getAttribute('data-refresh-seconds')) * 1000 || 5000;
  var base = location.pathname.replace(/\\/+$/, '');
  var stateUrl = base + '/api/state' + location.search;
  var selected = location.hash.length > 1 ? decodeURIComponent(location.hash.slice(1)) : null;
  var state = null;
  var SVG = 'http://www.w3.org/2000/svg';

  // Builds an element; children are nodes or strings (always text, never markup).
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) Object.keys(props).forEach(function (k) {
      if (props[k] === undefined || props[k] === null) return;
      if (k === 'text') node.textContent = String(props[k]);
      else if (k === 'className') node.className = props[k];
      else node.setAttribute(k, String(props[k]));
    });
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
    });
    return node;
  }
  function svgEl(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function cls(prefix, value) { return prefix + String(value || 'none').replace(/[^A-Za-z0-9-]/g, ''); }
  function time(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  function ago(iso) {
    if (!iso || !state) return '';
    var s = Math.max(0, Math.round((Date.parse(state.generatedAt) - Date.parse(iso)) / 1000));
    if (isNaN(s)) return '';
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.round(s / 60) + ' min ago';
    if (s < 86400) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' d ago';
  }
  function fixed(n, digits) { return typeof n === 'number' ? n.toFixed(digits) : '–'; }
  function metricFormat(metric) {
    if (/error/i.test(metric)) return function (v) { return (v * 100).toFixed(v < 0.1 ? 1 : 0) + ' %'; };
    if (/latency/i.test(metric)) return function (v) { return v < 1 ? Math.round(v * 1000) + ' ms' : v.toFixed(2) + ' s'; };
    return function (v) { return Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3); };
  }

  function setStatus(text, isError) {
    var s = document.getElementById('status');
    s.textContent = text;
    s.className = isError ? 'status error' : 'status';
  }

  function riskCell(r) {
    var width = typeof r.score === 'number' ? Math.max(2, Math.round(r.score * 100)) : 0;
    var fill = el('span', { className: cls('fill-', r.level) });
    fill.style.width = width + '%';
    return el('td', {}, [
      el('span', { className: 'score', text: typeof r.score === 'number' ? r.score.toFixed(2) : '–' }),
      el('div', { className: 'meter', role: 'meter', 'aria-label': 'risk score', 'aria-valuemin': 0,
        'aria-valuemax': 1, 'aria-valuenow': typeof r.score === 'number' ? r.score : 0 }, [fill])
    ]);
  }

  function reasonsList(r) {
    var items = r.hardRules.map(function (h) { return el('li', { className: 'hard', text: h }); })
      .concat(r.reasons.map(function (x) { return el('li', { text: x }); }));
    return items.length ? el('ul', { className: 'reasons' }, items) : el('span', { className: 'muted', text: 'no reasons recorded' });
  }

  function renderRollouts() {
    var box = document.getElementById('rollouts-body');
    var rows = state.rollouts;
    document.getElementById('rollouts-count').textContent = state.totalRollouts > rows.length
      ? '(newest ' + rows.length + ' of ' + state.totalRollouts + ')' : '(' + rows.length + ')';
    if (!rows.length) {
      box.replaceChildren(el('p', { className: 'empty', text: 'No rollouts assessed yet.' }));
      return;
    }
    var body = el('tbody');
    rows.forEach(function (r) {
      var tr = el('tr', { className: 'rollout', tabindex: 0, 'data-key': r.key, 'data-outcome': r.outcome,
        'data-level': r.level, 'aria-selected': r.key === selected ? 'true' : 'false' }, [
        el('td', {}, [el('div', { className: 'name', text: r.deployment }),
          el('div', { className: 'sub', text: r.namespace + ' · revision ' + (r.revision === undefined ? '?' : r.revision) })]),
        riskCell(r),
        el('td', {}, [el('span', { className: 'badge level ' + cls('lvl-', r.level), text: r.level || 'unassessed' })]),
        el('td', { className: 'reasons-cell' }, [reasonsList(r)]),
        el('td', {}, [el('span', { className: 'badge outcome ' + cls('out-', r.outcome), text: r.outcome || 'pending' }),
          el('div', { className: 'sub', text: r.phase || '' })]),
        el('td', { className: 'sub', title: r.assessedAt || '', text: ago(r.assessedAt) })
      ]);
      var choose = function () { select(r.key); };
      tr.addEventListener('click', choose);
      tr.addEventListener('keydown', function (e) { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); choose(); } });
      body.appendChild(tr);
    });
    var head = el('thead', {}, [el('tr', {}, ['Rollout', 'Risk', 'Level', 'Reasons', 'Outcome', 'Assessed'].map(function (h) {
      return el('th', { text: h });
    }))]);
    box.replaceChildren(el('div', { className: 'table-wrap' }, [el('table', { id: 'rollouts-table' }, [head, body])]));
  }

  function select(key) {
    selected = key;
    history.replaceState(null, '', '#' + encodeURIComponent(key));
    renderRollouts();
    renderDetail();
  }

  // A limit holds from its step until the next one: drawn as steps, not as a slope between them.
  function stepPoints(steps, field, x, y, until) {
    var points = [];
    steps.forEach(function (s, i) {
      var px = x(Date.parse(s.at));
      if (i > 0) points.push(px + ',' + y(steps[i - 1][field]));
      points.push(px + ',' + y(s[field]));
    });
    var last = steps[steps.length - 1];
    if (until !== undefined && last && until > x(Date.parse(last.at))) points.push(until + ',' + y(last[field]));
    return points.join(' ');
  }

  // One small chart per metric: its value at each step against its limit, and the moment of rollback.
  function chart(metric, steps, rollbackAt) {
    var W = 560, H = 196, L = 56, R = 14, T = 22, B = 30;
    var fmt = metricFormat(metric);
    var times = steps.map(function (s) { return Date.parse(s.at); });
    if (rollbackAt) times.push(Date.parse(rollbackAt));
    var t0 = Math.min.apply(null, times), t1 = Math.max.apply(null, times);
    if (t1 - t0 < 1000) { t0 -= 1000; t1 += 1000; }
    var top = 0;
    steps.forEach(function (s) {
      if (typeof s.value === 'number') top = Math.max(top, s.value);
      if (typeof s.limit === 'number') top = Math.max(top, s.limit);
    });
    top = top > 0 ? top * 1.15 : 1;
    var x = function (t) { return L + (t - t0) / (t1 - t0) * (W - L - R); };
    var y = function (v) { return T + (1 - v / top) * (H - T - B); };
    var svg = svgEl('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'data-metric': metric,
      'aria-label': metric + ' against its limit over the verification steps' });
    [0, 0.5, 1].forEach(function (f) {
      var v = top / 1.15 * f;
      svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: '#e4e9ee' }));
      svg.appendChild(svgEl('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', 'font-size': 11, fill: '#5c6b7a' }, fmt(v)));
    });
    svg.appendChild(svgEl('line', { x1: L, x2: L, y1: T, y2: H - B, stroke: '#aab4be' }));
    svg.appendChild(svgEl('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, stroke: '#aab4be' }));
    svg.appendChild(svgEl('text', { x: L, y: H - 10, 'font-size': 11, fill: '#5c6b7a' }, time(new Date(t0).toISOString())));
    svg.appendChild(svgEl('text', { x: W - R, y: H - 10, 'text-anchor': 'end', 'font-size': 11, fill: '#5c6b7a' },
      time(new Date(t1).toISOString())));
    var limits = steps.filter(function (s) { return typeof s.limit === 'number'; });
    if (limits.length) {
      svg.appendChild(svgEl('polyline', { class: 'limit', fill: 'none', stroke: '#c92a2a', 'stroke-width': 1.5,
        'stroke-dasharray': '6 4', points: stepPoints(limits, 'limit', x, y, rollbackAt ? x(Date.parse(rollbackAt)) : undefined) }));
      var lastLimit = limits[limits.length - 1];
      svg.appendChild(svgEl('text', { x: Math.max(L + 60, x(Date.parse(lastLimit.at)) - 6), y: y(lastLimit.limit) - 4,
        'text-anchor': 'end', 'font-size': 11, fill: '#c92a2a' },
        'limit ' + fmt(lastLimit.limit)));
    }
    var values = steps.filter(function (s) { return typeof s.value === 'number'; });
    if (values.length) {
      svg.appendChild(svgEl('polyline', { class: 'value', fill: 'none', stroke: '#1c64f2', 'stroke-width': 2,
        points: values.map(function (s) { return x(Date.parse(s.at)) + ',' + y(s.value); }).join(' ') }));
    }
    steps.forEach(function (s) {
      var colour = { pass: '#2f9e44', fail: '#c92a2a', error: '#e6a700', inconclusive: '#e6a700' }[s.verdict] || '#98a2ad';
      var cy = typeof s.value === 'number' ? y(s.value) : H - B;
      var dot = svgEl('circle', { class: 'step verdict-' + String(s.verdict).replace(/[^a-z-]/g, ''),
        cx: x(Date.parse(s.at)), cy: cy, r: 4, fill: typeof s.value === 'number' ? colour : '#fff', stroke: colour, 'stroke-width': 1.5 });
      dot.appendChild(svgEl('title', {}, time(s.at) + ' ' + s.verdict + (typeof s.value === 'number' ? ': ' + fmt(s.value) : '') +
        (typeof s.limit === 'number' ? ' (limit ' + fmt(s.limit) + ')' : '') + (s.message ? ' — ' + s.message : '')));
      svg.appendChild(dot);
    });
    if (rollbackAt) {
      var rx = x(Date.parse(rollbackAt));
      var marker = svgEl('g', { class: 'rollback-marker' });
      marker.appendChild(svgEl('line', { x1: rx, x2: rx, y1: T, y2: H - B, stroke: '#c92a2a', 'stroke-width': 2 }));
      marker.appendChild(svgEl('text', { x: Math.min(rx, W - R), y: T - 8, 'text-anchor': 'end', 'font-size': 11, 'font-weight': 600,
        fill: '#c92a2a' }, 'rolled back ' + time(rollbackAt)));
      svg.appendChild(marker);
    }
    var legend = el('div', { className: 'legend' }, [
      el('span', {}, [el('i', { className: 'value' }), 'value']),
      el('span', {}, [el('i', { className: 'limit' }), 'limit']),
      rollbackAt ? el('span', {}, [el('i', { className: 'rollback' }), 'rollback']) : null
    ]);
    return el('div', { className: 'chart' }, [el('h3', { text: metric }), svg, legend]);
  }

  function renderDetail() {
    var box = document.getElementById('detail');
    var r = null;
    state.rollouts.forEach(function (x) { if (x.key === selected) r = x; });
    if (!r) {
      box.replaceChildren(el('h2', { text: 'Verification' }), el('p', { className: 'empty', text: 'Select a rollout to see its verification.' }));
      return;
    }
    var v = r.verification || { steps: [] };
    var byMetric = {};
    var order = [];
    (v.steps || []).forEach(function (s) {
      if (!byMetric[s.metric]) { byMetric[s.metric] = []; order.push(s.metric); }
      byMetric[s.metric].push(s);
    });
    var summary = el('p', { className: 'summary' }, [
      el('span', { className: 'badge ' + cls('out-', r.outcome), text: r.outcome || 'pending' }), ' ',
      el('span', { text: v.message || (v.state ? 'verification ' + v.state : 'not verified yet') })
    ]);
    var charts = order.length
      ? el('div', { className: 'charts' }, order.map(function (m) { return chart(m, byMetric[m], r.rollbackAt); }))
      : el('p', { className: 'empty', text: 'No verification steps yet.' });
    var actions = el('ul', { className: 'actions' }, r.actions.map(function (a) {
      return el('li', {}, [el('span', { className: 'sub', text: time(a.at) + ' ' }), el('span', { className: 'type', text: a.type }),
        el('span', { text: a.message }), a.by ? el('span', { className: 'sub', text: ' — ' + a.by }) : null]);
    }));
    box.replaceChildren(
      el('h2', { id: 'detail-title', text: 'Verification · ' + r.deployment + ' revision ' + (r.revision === undefined ? '?' : r.revision) }),
      el('div', { className: 'sub', text: r.namespace + ' · policy ' + (r.policy || '?') + (r.mode ? ' (' + r.mode + ')' : '') +
        (r.modelVersion ? ' · scored by ' + r.modelVersion : r.scorer ? ' · scored by ' + r.scorer : '') }),
      summary, charts, r.actions.length ? el('h4', { text: 'What was done' }) : null, r.actions.length ? actions : null);
  }

  function renderPolicies() {
    var box = document.getElementById('policies-body');
    if (!state.policies.length) { box.replaceChildren(el('p', { className: 'empty', text: 'No DeploymentRiskPolicy found.' })); return; }
    var body = el('tbody', {}, state.policies.map(function (p) {
      var conditions = p.conditions.length ? p.conditions.map(function (c) {
        return el('div', { className: 'condition', 'data-type': c.type, 'data-status': c.status }, [
          el('span', { className: 'badge ' + cls('st-', c.status), text: c.type + ': ' + c.status }), ' ',
          el('span', { className: 'name', text: c.reason }), ' ',
          el('span', { className: 'sub', text: c.message })
        ]);
      }) : [el('span', { className: 'muted', text: p.specProblems ? 'invalid: ' + p.specProblems.join('; ') : 'not reconciled yet' })];
      return el('tr', { className: 'policy', 'data-key': p.key }, [
        el('td', {}, [el('div', { className: 'name', text: p.name }), el('div', { className: 'sub', text: p.namespace })]),
        el('td', { text: p.mode || '?' }),
        el('td', {}, conditions),
        el('td', { className: 'sub', text: [
          p.coveredDeployments === undefined ? null : p.coveredDeployments + ' covered',
          p.assessments === undefined ? null : p.assessments + ' assessed',
          p.pauses === undefined ? null : p.pauses + ' paused',
          p.rollbacks === undefined ? null : p.rollbacks + ' rolled back'
        ].filter(Boolean).join(' · ') })
      ]);
    }));
    var head = el('thead', {}, [el('tr', {}, ['Policy', 'Mode', 'Conditions', 'Counts'].map(function (h) { return el('th', { text: h }); }))]);
    box.replaceChildren(el('div', { className: 'table-wrap' }, [el('table', {}, [head, body])]));
  }

  function bars(items, kind) {
    var maxValue = Math.max.apply(null, items.map(function (i) { return i.value; }).concat([1e-9]));
    return el('div', { className: 'bars ' + kind }, items.reduce(function (acc, i) {
      var fill = el('span');
      fill.style.width = Math.max(1, Math.round(i.value / maxValue * 100)) + '%';
      acc.push(el('span', { text: i.feature.replace(/_/g, ' ') }), el('div', { className: 'track' }, [fill]),
        el('span', { className: 'v', text: i.value.toFixed(3) }));
      return acc;
    }, []));
  }

  function renderModel() {
    var box = document.getElementById('model-body');
    var m = state.model;
    var drift = m.drift.length ? bars(m.drift, 'drift') : el('p', { className: 'empty', text: 'No drift measured yet.' });
    if (!m.loaded) {
      box.replaceChildren(el('p', { text: 'No model loaded: rollouts are scored by the rules.' }), el('h4', { text: 'Drift by feature' }), drift);
      return;
    }
    var e = m.evaluation;
    var facts = [['Version', m.version], ['Trained', m.trainedAt ? new Date(m.trainedAt).toLocaleString() : '–'],
      ['Data', m.data.description + ' (' + m.data.rows + ' rows, ' + m.data.positives + ' risky)']];
    if (e) {
      facts.push(['AUC', fixed(e.auc, 3)], ['Precision', fixed(e.precision, 3) + ' at threshold ' + fixed(e.threshold, 2)],
        ['Recall', fixed(e.recall, 3)], ['F1', fixed(e.f1, 3)], ['Evaluated', e.method + ' (' + e.testRows + ' rows)']);
    } else {
      facts.push(['Quality', 'not evaluated']);
    }
    var dl = el('dl', { className: 'facts' }, facts.reduce(function (acc, f) {
      acc.push(el('dt', { text: f[0] }), el('dd', { className: 'fact-' + f[0].toLowerCase(), text: f[1] }));
      return acc;
    }, []));
    var top = m.importances.filter(function (i) { return i.value > 0; }).slice(0, 12);
    box.replaceChildren(dl, el('h4', { text: 'Feature importances' }),
      top.length ? bars(top, 'importances') : el('p', { className: 'empty', text: 'No importances recorded.' }),
      el('h4', { text: 'Drift by feature' }), drift);
  }

  function render(next) {
    state = next;
    document.getElementById('scope').textContent = state.namespace ? 'namespace ' + state.namespace : 'all namespaces';
    var known = state.rollouts.some(function (r) { return r.key === selected; });
    if (!known && state.rollouts.length) selected = state.rollouts[0].key;
    renderRollouts();
    renderDetail();
    renderPolicies();
    renderModel();
    if (!state.synced) setStatus('The controller is still reading the cluster: lists may be incomplete', true);
    else setStatus('Updated ' + time(state.generatedAt) + ' · refreshes every ' + Math.round(refreshMs / 1000) + ' s', false);
  }

  function refresh() {
    fetch(stateUrl, { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (res) {
        if (!res.ok) return res.json().then(function (b) { throw new Error(b && b.error ? b.error : 'HTTP ' + res.status); },
          function () { throw new Error('HTTP ' + res.status); });
        return res.json();
      })
      .then(render)
      .catch(function (err) {
        setStatus('Could not refresh: ' + (err && err.message ? err.message : String(err)) +
          (state ? ' · showing ' + time(state.generatedAt) : ''), true);
      })
      .then(function () { setTimeout(refresh, refreshMs); });
  }
  refresh();
})();
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

export interface DashboardPage {
  html: string;
  /** The Content-Security-Policy header to serve it with. */
  contentSecurityPolicy: string;
}

export function dashboardPage(options: { refreshSeconds: number; title?: string }): DashboardPage {
  const title = escapeHtml(options.title ?? 'rollguard dashboard');
  const refresh = escapeHtml(String(options.refreshSeconds));
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="icon" href="data:,">
<style>${style}</style>
</head>
<body>
<div id="page" data-refresh-seconds="${refresh}">
<header><h1>${title}</h1><span class="scope" id="scope"></span><span class="status" id="status" role="status">Loading…</span></header>
<main>
<section class="card" id="rollouts-card"><h2>Recent rollouts <span class="muted" id="rollouts-count"></span></h2><div id="rollouts-body"><p class="empty">Loading…</p></div></section>
<section class="card" id="detail"><h2>Verification</h2><p class="empty">Loading…</p></section>
<section class="card" id="policies-card"><h2>Policies</h2><div id="policies-body"><p class="empty">Loading…</p></div></section>
<section class="card" id="model-card"><h2>Model</h2><div id="model-body"><p class="empty">Loading…</p></div></section>
</main>
</div>
<noscript><p>The dashboard needs JavaScript; GET dashboard/api/state for the same data as JSON.</p></noscript>
<script>${script}</script>
</body>
</html>
`;
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(style)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, contentSecurityPolicy };
}
