//! The CI-sized load and fault test on every runtime: 500 connections with sequence-numbered
//! echoes, 50 clients dying mid-handshake or mid-frame, and every server handler ending.
//! The full 10,000-connection run is the `load` binary (see README).

use tests::load::{raise_fd_limit, run, LoadSpec, ServerSide};
use tests::Runtime;

fn load_with_faults<R: Runtime>() {
    raise_fd_limit();
    let spec = LoadSpec {
        connections: 500,
        messages: 20,
        faulty: 50,
    };
    let mut server = ServerSide::in_process::<R>();
    let report = run::<R>(spec, &mut server);
    assert!(
        report.errors.is_empty(),
        "{}: {:?}",
        R::NAME,
        &report.errors[..report.errors.len().min(5)]
    );
    assert_eq!(report.connected, spec.connections, "{}", R::NAME);
    assert_eq!(
        report.echoed,
        (spec.connections * spec.messages) as u64,
        "{}",
        R::NAME
    );
    assert_eq!(report.faults_injected, spec.faulty, "{}", R::NAME);
    assert_eq!(
        report.handlers_ended,
        spec.connections + spec.faulty,
        "{}",
        R::NAME
    );
}

tests::for_each_runtime!(load_with_faults);
