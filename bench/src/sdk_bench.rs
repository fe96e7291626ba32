//! Per-call latency of the Rust SDK's high-level client (`micro.store().read(...)`) against the
//! raw generated tonic stub (`StoreClient::new(channel).read(...)`), same server, same process.
//!
//! Each client has its own connection to the server at `ADDRESS`. One small record is written,
//! both clients are warmed up, then `BATCHES` batches of sequential unary `store.Read` calls
//! alternate between the two (high, raw, raw, high, …), `CALLS` calls per client in all.
//! Prints one JSON object: the median per-call latency of each in microseconds and the ratio
//! high/raw — the format every language's SDK benchmark prints (see bench/run.sh).
//!
//! A third contender, `raw_deadline_us` (not part of the ratio), is the raw stub with the same
//! 30 s deadline the high-level client sets by default (`grpc-timeout` on the wire): it tells the
//! cost of having a deadline at all (client and server timers) from that of the SDK's wrapper.
//!
//! Usage: `micro-gen-sdk-bench ADDRESS [CALLS] [BATCHES]` (defaults 4000 and 20).

use std::time::Instant;

use micro_client::Micro;
use micro_client::pb::store::{ReadRequest, Record, WriteRequest, store_client::StoreClient};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The key of the record every call reads.
const KEY: &str = "sdk-bench-key";

/// The median of `samples`, converted from nanoseconds to microseconds.
fn median_us(samples: &mut [u64]) -> f64 {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default() as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let address = args.next().expect("usage: micro-gen-sdk-bench ADDRESS [CALLS] [BATCHES]");
    let calls: usize = args.next().map_or(4000, |c| c.parse().expect("CALLS"));
    let batches: usize = args.next().map_or(20, |b| b.parse().expect("BATCHES")).max(1);
    let per_batch = calls.div_ceil(batches);

    let micro = Micro::connect(address.clone()).await.expect("connect the high-level client");
    let high = micro.store();
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect the raw stub");
    let raw = StoreClient::new(channel);

    let record = Record { key: KEY.to_owned(), value: vec![b'v'; 64], ..Record::default() };
    raw.clone().write(WriteRequest { record: Some(record), ..WriteRequest::default() }).await.expect("write");
    let request = ReadRequest { key: KEY.to_owned(), ..ReadRequest::default() };

    // 0: high-level client, 1: raw stub, 2: raw stub with the high-level client's default deadline.
    let mut samples: [Vec<u64>; 3] = std::array::from_fn(|_| Vec::with_capacity(calls));
    for batch in 0..=batches {
        // Batch 0 is the warm-up of all and is not recorded.
        let order = if batch % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] };
        for which in order {
            for _ in 0..per_batch {
                let t = Instant::now();
                let response = match which {
                    0 => high.read(request.clone()).await.expect("high-level store.Read"),
                    1 => raw.clone().read(request.clone()).await.expect("raw store.Read"),
                    _ => {
                        let mut with_deadline = tonic::Request::new(request.clone());
                        with_deadline.set_timeout(Micro::DEFAULT_TIMEOUT);
                        raw.clone().read(with_deadline).await.expect("raw store.Read")
                    }
                };
                let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
                assert_eq!(response.get_ref().records.len(), 1);
                if batch > 0 {
                    samples[which].push(ns);
                }
            }
        }
    }
    let [mut high_ns, mut raw_ns, mut deadline_ns] = samples;
    let high_us = median_us(&mut high_ns);
    let raw_us = median_us(&mut raw_ns);
    let raw_deadline_us = median_us(&mut deadline_ns);
    println!(
        "{}",
        serde_json::json!({
            "lang": "rust",
            "high": "micro_client::Micro store().read",
            "raw": "pb::store::store_client::StoreClient::read",
            "calls": high_ns.len(),
            "high_us": high_us,
            "raw_us": raw_us,
            "raw_deadline_us": raw_deadline_us,
            "ratio": high_us / raw_us,
        })
    );
}
