//! Renders `BENCHMARKS.md`: machine, settings, the performance targets with the figures each
//! one is judged on, then the tables ([`crate::report_tables`]) and the method.

use crate::echo::EchoRow;
use crate::report_tables as tables;
use crate::servers::ServerKind;
use crate::suite::{Results, SIZES};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Micro benchmark means, nanoseconds per iteration, read from criterion's output.
#[derive(Clone, Debug, Default)]
pub struct Micro {
    /// `(size, [decode, encode, apply_mask, memcpy])`; `None` where a result is missing.
    pub rows: Vec<(usize, [Option<f64>; 4])>,
}

/// Reads the mean of `dir/<id>/new/estimates.json` (nanoseconds).
fn criterion_mean(dir: &Path, id: &str) -> Option<f64> {
    let text = std::fs::read_to_string(dir.join(id).join("new/estimates.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("mean")?.get("point_estimate")?.as_f64()
}

impl Micro {
    /// Reads the results of `benches/micro.rs` from criterion's output directory.
    pub fn read(dir: &Path) -> Micro {
        let rows = SIZES
            .iter()
            .map(|&size| {
                let ids = [
                    format!("decode/{size}"),
                    format!("encode/{size}"),
                    format!("mask/apply_mask/{size}"),
                    format!("mask/memcpy/{size}"),
                ];
                (size, ids.map(|id| criterion_mean(dir, &id)))
            })
            .collect();
        Micro { rows }
    }

    /// Throughput in GB/s of column `col` (0 decode, 1 encode, 2 apply_mask, 3 memcpy).
    pub fn gbps(&self, size: usize, col: usize) -> Option<f64> {
        let (_, r) = self.rows.iter().find(|(s, _)| *s == size)?;
        r[col].map(|ns| size as f64 / ns)
    }
}

/// What the report is made from.
pub struct Report<'a> {
    /// The command that reproduces it.
    pub command: &'a str,
    /// Machine description (lscpu and friends).
    pub machine: &'a str,
    /// Micro benchmarks.
    pub micro: &'a Micro,
    /// End to end.
    pub results: &'a Results,
    /// Settings line.
    pub settings: &'a str,
    /// How long the end-to-end half took.
    pub elapsed: Duration,
}

/// `a / b`, when both are there.
pub fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

/// One judged target: the values it is judged on, its bound, and how many of the runs behind
/// the values had a busy load generator.
struct Target {
    name: &'static str,
    values: Vec<Option<f64>>,
    busy: usize,
    /// `true`: every value must be at least `bound`; `false`: at most.
    at_least: bool,
    bound: f64,
}

impl Target {
    fn at_least(name: &'static str, values: Vec<Option<f64>>, bound: f64) -> Target {
        Target {
            name,
            values,
            busy: 0,
            at_least: true,
            bound,
        }
    }

    fn at_most(name: &'static str, values: Vec<Option<f64>>, bound: f64) -> Target {
        Target {
            at_least: false,
            ..Target::at_least(name, values, bound)
        }
    }

    /// `(worst – best, verdict)`; missing figures make it "not measured".
    fn verdict(&self) -> (String, String) {
        if self.values.is_empty() || self.values.iter().any(Option::is_none) {
            return ("–".into(), "not measured".into());
        }
        let vals: Vec<f64> = self.values.iter().flatten().copied().collect();
        let lo = vals.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = vals.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let (worst, best, met) = if self.at_least {
            (lo, hi, lo >= self.bound)
        } else {
            (hi, lo, hi <= self.bound)
        };
        let mut verdict = if met { "met" } else { "**missed**" }.to_string();
        if self.busy > 0 {
            let _ = write!(
                verdict,
                " ({} of the runs with the load generator more than 90% busy)",
                self.busy
            );
        }
        (format!("{worst:.2} – {best:.2}"), verdict)
    }
}

/// Ratios `num / den` of every pair over the echo rows `rows`, and how many of the runs behind
/// them (each counted once) had a busy load generator.
fn ratios(rows: &[&EchoRow], pairs: &[(ServerKind, ServerKind)]) -> (Vec<Option<f64>>, usize) {
    let values = pairs
        .iter()
        .flat_map(|&(num, den)| rows.iter().map(move |r| ratio(r.rate(num), r.rate(den))))
        .collect();
    let mut kinds: Vec<ServerKind> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
    kinds.sort_by_key(|k| ServerKind::ECHO.iter().position(|e| e == k));
    kinds.dedup();
    let busy = rows
        .iter()
        .flat_map(|r| kinds.iter().filter_map(|&k| r.cell(k)))
        .filter(|c| c.loadgen_busy())
        .count();
    (values, busy)
}

impl Report<'_> {
    /// The Markdown document.
    pub fn render(&self) -> String {
        let mut md = String::new();
        let r = self.results;
        let _ = writeln!(md, "# Benchmarks\n");
        let _ = writeln!(
            md,
            "Generated by `{}` (the end-to-end half took {:.0} s; about 5 minutes on 2 cores \
             once built, with the micro benchmarks). Figures on this shared 2-core machine \
             drift from run to run: compare the ratios of one run, not absolute numbers across \
             runs. Benchmarks are never pass/fail.\n",
            self.command,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(md, "## Machine\n\n```\n{}\n```\n", self.machine.trim());
        let _ = writeln!(md, "Settings: {}\n", self.settings);
        tables::quietness(&mut md, r.echo.iter().chain(&r.latency));
        self.targets(&mut md);
        tables::micro(&mut md, self.micro);
        tables::echo(&mut md, &r.echo);
        tables::ratios(&mut md, &r.echo);
        tables::loadgen(&mut md, &r.echo);
        if let Some(row) = &r.latency {
            tables::latency(&mut md, row);
        }
        tables::allocs(&mut md, &r.echo);
        tables::clients(&mut md, &r.clients);
        tables::idle(&mut md, &r.idle);
        tables::method(&mut md);
        md
    }

    fn targets(&self, md: &mut String) {
        use ServerKind::*;
        let r = self.results;
        let small: Vec<&EchoRow> = r.echo.iter().filter(|row| row.size <= 1024).collect();
        let large: Vec<&EchoRow> = r.echo.iter().filter(|row| row.size >= 64 * 1024).collect();
        let all: Vec<&EchoRow> = r.echo.iter().collect();
        let judged = |name, (values, busy), bound| Target {
            busy,
            ..Target::at_least(name, values, bound)
        };
        let runtimes = ratios(&all, &[(WsAsyncStd, WsTokio), (WsSmol, WsTokio)]);
        let ours = [WsTokio, WsAsyncStd, WsSmol];
        let latency: Vec<Option<f64>> = r.latency.as_ref().map_or(vec![None], |row| {
            let rtt = |k: ServerKind, p99: bool| {
                row.cell(k)
                    .and_then(|c| c.report.rtt)
                    .map(|t| if p99 { t.p99 } else { t.p50 }.as_secs_f64())
            };
            let mut v = Vec::new();
            for p99 in [false, true] {
                let peers = [rtt(Tungstenite, p99), rtt(FastWebSockets, p99)];
                let best_peer = peers
                    .iter()
                    .try_fold(f64::INFINITY, |m, p| p.map(|p| m.min(p)));
                v.extend(ours.iter().map(|&k| ratio(rtt(k, p99), best_peer)));
            }
            v
        });
        let allocs: Vec<Option<f64>> = r
            .echo
            .iter()
            .flat_map(|row| {
                row.cells
                    .iter()
                    .filter(|(k, _)| k.is_ours())
                    .map(|(_, c)| c.as_ref().ok().map(|c| c.allocs_per_msg))
            })
            .collect();
        let idle: Vec<Option<f64>> = r
            .idle
            .iter()
            .filter(|(k, _)| k.is_ours())
            .map(|(_, row)| row.as_ref().ok().map(|row| row.rss_per_conn / 1024.0))
            .collect();
        let k64 = 64 * 1024;
        let m = self.micro;
        let targets = [
            judged(
                "ws-tokio echo ≥ 1.5× tokio-tungstenite at 16 B and 1 KiB, 1 and 100 connections",
                ratios(&small, &[(WsTokio, Tungstenite)]),
                1.5,
            ),
            judged(
                "ws-tokio echo ≥ 1.2× fastwebsockets at 16 B and 1 KiB, 1 and 100 connections",
                ratios(&small, &[(WsTokio, FastWebSockets)]),
                1.2,
            ),
            judged(
                "ws-tokio echo ≥ 1.2× tokio-tungstenite and ≥ 1.2× fastwebsockets at 64 KiB and 1 MiB",
                ratios(&large, &[(WsTokio, Tungstenite), (WsTokio, FastWebSockets)]),
                1.2,
            ),
            judged(
                "ws-async-std and ws-smol echo within 10% of ws-tokio, every configuration (ratio ≥ 0.90)",
                runtimes,
                0.9,
            ),
            Target::at_most(
                "round trip, 1 message in flight, p50 and p99: ours on every runtime / the better peer (≤ 1.00)",
                latency,
                1.0,
            ),
            Target::at_least(
                "decode ≥ 8 GB/s at 64 KiB",
                vec![m.gbps(k64, 0)],
                8.0,
            ),
            Target::at_least(
                "decode ≥ ¼ of memcpy at 64 KiB (decode / memcpy throughput)",
                vec![ratio(m.gbps(k64, 0), m.gbps(k64, 3))],
                0.25,
            ),
            Target::at_least(
                "client encode with masking ≥ 10 GB/s at 64 KiB",
                vec![m.gbps(k64, 1)],
                10.0,
            ),
            // Rounded to two decimals in the table: below 0.005 reads as 0.00.
            Target::at_most(
                "0 heap allocations per echoed message, ours on every runtime, up to 1 MiB",
                allocs,
                0.005,
            ),
            Target::at_most(
                "idle connection ≤ 3 KiB RSS, ours on every runtime (KiB per connection)",
                idle,
                3.0,
            ),
        ];
        md.push_str(
            "## Targets\n\nIssue 18's goals, judged on this run. Ratios are ws-tokio's plain \
             `recv`/`send` echo loop (the README's) against the peers, with `TCP_NODELAY` on \
             for ours and Nagle's algorithm left on for the peers (their default).\n\n\
             | target | measured (worst – best) | verdict |\n|---|---|---|\n",
        );
        for t in &targets {
            let (range, verdict) = t.verdict();
            let _ = writeln!(md, "| {} | {range} | {verdict} |", t.name);
        }
        md.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::echo::EchoCell;
    use crate::loadgen::{LoadReport, LoadResult};

    fn cell(messages: u64, busy: bool) -> Result<EchoCell, String> {
        Ok(EchoCell {
            report: LoadReport {
                load: LoadResult {
                    messages,
                    elapsed: Duration::from_secs(1),
                    size: 16,
                },
                cpu_share: Some(if busy { 0.95 } else { 0.2 }),
                ..LoadReport::default()
            },
            server_cpu: None,
            allocs_per_msg: 0.0,
            bytes_per_msg: 0.0,
            other_on_server_core: None,
            other_on_loadgen_core: None,
        })
    }

    #[test]
    fn ratios_count_each_busy_run_once() {
        use ServerKind::*;
        let row = |tokio_busy| EchoRow {
            connections: 1,
            in_flight: 16,
            size: 16,
            cells: vec![
                (WsTokio, cell(100, tokio_busy)),
                (WsAsyncStd, cell(50, false)),
                (WsSmol, cell(200, false)),
            ],
        };
        let rows = [row(true), row(false)];
        let refs: Vec<&EchoRow> = rows.iter().collect();
        let (values, busy) = ratios(&refs, &[(WsAsyncStd, WsTokio), (WsSmol, WsTokio)]);
        assert_eq!(values, vec![Some(0.5), Some(0.5), Some(2.0), Some(2.0)]);
        assert_eq!(
            busy, 1,
            "ws-tokio's busy run feeds two ratios but is one run"
        );
    }

    #[test]
    fn verdicts_name_the_worst_value_first() {
        let at_least = Target::at_least("x", vec![Some(1.6), Some(1.4)], 1.5);
        assert_eq!(
            at_least.verdict(),
            ("1.40 – 1.60".into(), "**missed**".into())
        );
        let at_most = Target::at_most("x", vec![Some(1.2), Some(1.1)], 1.0);
        assert_eq!(
            at_most.verdict(),
            ("1.20 – 1.10".into(), "**missed**".into())
        );
        let met = Target {
            busy: 2,
            ..Target::at_most("x", vec![Some(0.5), Some(1.0)], 1.0)
        };
        assert_eq!(
            met.verdict(),
            (
                "1.00 – 0.50".into(),
                "met (2 of the runs with the load generator more than 90% busy)".into()
            )
        );
        let missing = Target::at_least("x", vec![Some(1.0), None], 0.0);
        assert_eq!(missing.verdict().1, "not measured");
    }
}
