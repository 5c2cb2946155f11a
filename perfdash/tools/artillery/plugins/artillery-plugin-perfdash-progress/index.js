'use strict';

// perfdash-progress: appends Artillery's metrics to an NDJSON file as they are reported, so a
// dashboard can follow a run live and keep what was measured even when the run is killed.
//
// Enable with `config.plugins.perfdash-progress: {}` and ARTILLERY_PLUGIN_PATH pointing at the
// folder that holds this one; the file is named by PERFDASH_PROGRESS_FILE.
//
// One line per event:
//   {"type": "intermediate" | "summary", "period": <ms epoch>, "written_at": <ISO 8601>,
//    "counters": {...}, "rates": {...}, "summaries": {"http.response_time": {min, max, count, mean,
//    p50, median, p75, p90, p95, p99, p999}, ...}}
// "intermediate" comes once per reporting window (10 s) and holds that window only; "summary"
// comes once at the normal end of the run and holds the whole run, as in the report's `aggregate`.
// When the scenario uses Artillery's `ensure` plugin, its verdict follows as one line:
//   {"type": "ensure", "written_at": ..., "checks": [{"original": "maxErrorRate < 5",
//    "result": 1 | 0, "strict": true}]}
// Metric names are Artillery's own, unchanged.

const fs = require('node:fs');
const { isMainThread } = require('node:worker_threads');

const ENV_VAR = 'PERFDASH_PROGRESS_FILE';
const SUMMARY_FIELDS = ['min', 'max', 'count', 'mean', 'p50', 'median', 'p75', 'p90', 'p95', 'p99', 'p999'];

function finiteOrNull(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n : null;
}

function numericMap(obj) {
  const out = {};
  for (const [name, value] of Object.entries(obj || {})) {
    if (typeof value === 'number') {
      out[name] = finiteOrNull(value);
    }
  }
  return out;
}

function summaryFromSketch(h) {
  // A DDSketch as found in `stats.histograms`, for metrics that have no ready summary.
  const q = (x) => (typeof h.getValueAtQuantile === 'function' ? h.getValueAtQuantile(x) : null);
  const count = finiteOrNull(h.count);
  return {
    min: finiteOrNull(h.min),
    max: finiteOrNull(h.max),
    count,
    mean: count ? finiteOrNull(h.sum / count) : null,
    p50: finiteOrNull(q(0.5)),
    median: finiteOrNull(q(0.5)),
    p75: finiteOrNull(q(0.75)),
    p90: finiteOrNull(q(0.9)),
    p95: finiteOrNull(q(0.95)),
    p99: finiteOrNull(q(0.99)),
    p999: finiteOrNull(q(0.999))
  };
}

function plainSummaries(stats) {
  const out = {};
  for (const [name, summary] of Object.entries(stats.summaries || {})) {
    if (summary && typeof summary === 'object') {
      const plain = {};
      for (const field of SUMMARY_FIELDS) {
        if (field in summary) {
          plain[field] = finiteOrNull(summary[field]);
        }
      }
      out[name] = plain;
    }
  }
  for (const [name, sketch] of Object.entries(stats.histograms || {})) {
    if (!(name in out) && sketch && typeof sketch === 'object') {
      try {
        out[name] = summaryFromSketch(sketch);
      } catch (err) {
        // A histogram we cannot read is left out rather than breaking the run.
      }
    }
  }
  return out;
}

function periodOf(stats, fallback) {
  const p = Number(stats.period);
  return Number.isFinite(p) && p > 0 ? p : fallback;
}

class PerfdashProgress {
  constructor(script, events) {
    this.file = process.env[ENV_VAR] || '';
    this.lastPeriod = null;
    if (!this.file) {
      if (isMainThread) {
        process.stderr.write(`perfdash-progress: ${ENV_VAR} is not set; not writing progress\n`);
      }
      return;
    }
    events.on('stats', (stats) => {
      this.lastPeriod = periodOf(stats, Date.now());
      this.write('intermediate', stats, this.lastPeriod);
    });
    const globalEvents = global.artillery && global.artillery.globalEvents;
    if (globalEvents && typeof globalEvents.on === 'function') {
      globalEvents.on('checks', (checks) => this.writeEnsure(checks));
    }
    events.on('done', (stats) => {
      // The aggregate carries the start of the last window as its period (as in the report).
      this.write('summary', stats, periodOf(stats, this.lastPeriod || Date.now()));
    });
  }

  write(type, stats, period) {
    const line = {
      type,
      period,
      written_at: new Date().toISOString(),
      counters: numericMap(stats.counters),
      rates: numericMap(stats.rates),
      summaries: plainSummaries(stats)
    };
    try {
      fs.appendFileSync(this.file, `${JSON.stringify(line)}\n`);
    } catch (err) {
      process.stderr.write(`perfdash-progress: cannot append to ${this.file}: ${err.message}\n`);
    }
  }

  writeEnsure(checks) {
    const line = {
      type: 'ensure',
      written_at: new Date().toISOString(),
      checks: (Array.isArray(checks) ? checks : []).map((c) => ({
        original: String(c.original),
        result: c.result === 1 ? 1 : 0,
        strict: c.strict !== false
      }))
    };
    try {
      fs.appendFileSync(this.file, `${JSON.stringify(line)}\n`);
    } catch (err) {
      process.stderr.write(`perfdash-progress: cannot append to ${this.file}: ${err.message}\n`);
    }
  }

  cleanup(done) {
    done(null);
  }
}

module.exports = { Plugin: PerfdashProgress, LEGACY_METRICS_FORMAT: false };
