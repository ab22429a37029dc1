//! Ports for the server programs the tests start (danted, microsocks, tinyproxy, stunnel,
//! redis-server), which must be told a port rather than bind port 0 themselves.
//!
//! A port found by binding port 0 and letting go is in the kernel's ephemeral range, so any
//! other socket of the parallel tests (a server binding port 0, a client's local port) may
//! take it before the program binds it. The program then fails to start, and a readiness probe
//! may even reach the other socket and call it ready. The ports here lie below the ephemeral
//! range, where the kernel never picks on its own, and each is handed out once per process.

use std::collections::HashSet;
use std::net::TcpListener;
use std::sync::Mutex;

/// Where the kernel's ephemeral range starts when `/proc` does not say.
const DEFAULT_EPHEMERAL_START: u16 = 32768;
/// How many ports below the ephemeral range the tests may use.
const SPAN: u16 = 8192;

/// A loopback port no other socket of this process has had, below the ephemeral range and
/// free when checked. Panics if none of the range is free.
pub fn daemon_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let top = ephemeral_start();
    let bottom = top.saturating_sub(SPAN).max(1024);
    let span = u32::from(top - bottom);
    // Start at a place that differs between test processes, so that two test binaries run at
    // once rarely probe the same ports.
    let offset = std::process::id().wrapping_mul(7919);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    for i in 0..span {
        let port = bottom + (offset.wrapping_add(i) % span) as u16;
        if given.contains(&port) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
    panic!("no free loopback port in {bottom}..{top}");
}

/// The first port of the kernel's ephemeral range (`ip_local_port_range`).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(DEFAULT_EPHEMERAL_START)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_below_the_ephemeral_range_and_never_repeat() {
        let start = ephemeral_start();
        let ports: Vec<u16> = (0..64).map(|_| daemon_port()).collect();
        let distinct: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(distinct.len(), ports.len(), "{ports:?}");
        assert!(ports.iter().all(|&p| p < start && p >= 1024), "{ports:?}");
    }
}
