//! Micro benchmarks of the protocol core: decode (with unmask and UTF-8 check), encode (with
//! masking), and `apply_mask` against a plain copy of the same bytes.
//!
//! Short measurement times keep the whole harness within minutes; results land in criterion's
//! output directory, where `ws-bench all` reads them for `BENCHMARKS.md`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use ws_proto::{apply_mask, Bytes, Config, Connection, Event, MaskingKey, Message, Role};

const SIZES: [usize; 4] = [16, 1024, 64 * 1024, 1 << 20];

/// Text of exactly `size` bytes, mostly ASCII with some 2- and 3-byte sequences, so the UTF-8
/// check sees realistic text rather than only its ASCII fast path.
fn text(size: usize) -> String {
    let pattern = "The quick brown fox jumps over the lazy dog — größer, 東京. ";
    let mut s = String::with_capacity(size);
    for c in pattern.chars().cycle() {
        if s.len() + c.len_utf8() > size {
            break;
        }
        s.push(c);
    }
    // A multi-byte character did not fit: pad with ASCII.
    while s.len() < size {
        s.push('.');
    }
    s
}

/// A masked client frame carrying `payload` as text, encoded by a client `Connection`.
fn client_frame(payload: &str) -> Vec<u8> {
    let mut client = Connection::new(Role::Client, Config::default());
    client
        .send(Message::text(payload.to_string()))
        .expect("send");
    client.take_output()
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("decode");
    for size in SIZES {
        let frame = client_frame(&text(size));
        let mut server = Connection::new(Role::Server, Config::default());
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| {
                // As a transport read would: the frame lands in the read buffer, then is
                // parsed, unmasked and validated in place.
                server.read_buffer().extend_from_slice(&frame);
                match server.next_event() {
                    Ok(Some(Event::Message(m))) => black_box(m),
                    other => panic!("unexpected {other:?}"),
                }
            })
        });
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode");
    for size in SIZES {
        let payload = Bytes::from(vec![0x5Au8; size]);
        let mut client = Connection::new(Role::Client, Config::default());
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::from_parameter(size), |b| {
            b.iter(|| {
                client.send(Message::Binary(payload.clone())).expect("send");
                // Hand the output to a pretend transport without copying it again.
                while client.output_len() > 0 {
                    let n = black_box(client.output()).len();
                    client.advance_output(n);
                }
            })
        });
    }
    group.finish();
}

fn mask(c: &mut Criterion) {
    let mut group = c.benchmark_group("mask");
    let key = MaskingKey([0x37, 0xfa, 0x21, 0x3d]);
    for size in SIZES {
        let src = vec![0xA5u8; size];
        let mut dst = vec![0u8; size];
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(BenchmarkId::new("apply_mask", size), |b| {
            b.iter(|| apply_mask(black_box(&mut dst), key, 0))
        });
        group.bench_function(BenchmarkId::new("memcpy", size), |b| {
            b.iter(|| black_box(&mut dst).copy_from_slice(black_box(&src)))
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800))
        .sample_size(20)
        .without_plots()
}

criterion_group! {
    name = micro;
    config = config();
    targets = decode, encode, mask
}
criterion_main!(micro);
