//! Throughput of the reference server against a bare tonic server, both serving unary
//! `/store.Store/Read` in the same run.
//!
//! Two servers run in child processes (this binary re-executed as `serve ref` / `serve echo`),
//! each on a multi-threaded tokio runtime, listening on a free loopback port:
//!
//! - `ref`: [`micro_server::Server`] with its default options (no test hooks, no auth, memory
//!   only), one small record written before the measurement;
//! - `echo`: a tonic `StoreServer` whose `Read` decodes the `ReadRequest` and returns a clone of
//!   one prepared `ReadResponse` of the same encoded size as the reference server's answer
//!   (checked before measuring), and nothing else (no layer, no lookup).
//!
//! The load client (this process) keeps `--concurrency` calls in flight on one HTTP/2 connection
//! (one tonic `Channel`, so as many concurrent streams) for `--seconds` per round. Rounds
//! alternate between the servers (ref, echo, echo, ref, …) after one warm-up round each, so that
//! drift in the machine's speed hits both alike. Prints calls/s, p50 and p99 latency of each
//! and the ratio ref/echo of the throughputs, as text, or one JSON object with `--json`. Also
//! each server process's CPU time per call (Linux `/proc`) and their ratio echo/ref: on a busy
//! shared machine the throughput ratio swings with the other load, the CPU cost per call much
//! less.
//!
//! `--server-threads N` gives both servers' runtimes N worker threads (default: tokio's, one per
//! core); with fewer threads than cores the servers, not the load client, are the bottleneck.
//!
//! Usage: `micro-gen-server-bench [--rounds N] [--seconds S] [--concurrency C] [--server-threads N]
//! [--json]`

use std::{
    collections::HashMap,
    io::{BufRead as _, BufReader, Read as _},
    net::SocketAddr,
    process::{Child, ChildStdout, Command, Stdio},
    time::{Duration, Instant},
};

use micro_client::pb::store::{
    DatabasesRequest, DatabasesResponse, DeleteRequest, DeleteResponse, ListRequest, ListResponse, ReadRequest,
    ReadResponse, Record, TablesRequest, TablesResponse, WriteRequest, WriteResponse,
    store_client::StoreClient,
    store_server::{Store, StoreServer},
};
use tokio_stream::StreamExt as _;
use tonic::{Request, Response, Status, transport::Channel};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The key of the record every call reads.
const KEY: &str = "bench-key";
/// The size of its value, bytes.
const VALUE_LEN: usize = 64;

/// The record written to the reference server and answered by the echo server.
fn record() -> Record {
    Record {
        key: KEY.to_owned(),
        value: vec![b'v'; VALUE_LEN],
        expiry: 0,
        metadata: HashMap::from([(
            "kind".to_owned(),
            micro_client::pb::store::Field { r#type: "string".to_owned(), value: "bench".to_owned() },
        )]),
    }
}

/// The bare server: `Read` answers a clone of one prepared response; the rest is unimplemented.
#[derive(Debug)]
struct EchoStore {
    response: ReadResponse,
}

#[tonic::async_trait]
impl Store for EchoStore {
    async fn read(&self, request: Request<ReadRequest>) -> Result<Response<ReadResponse>, Status> {
        let _request = request.into_inner();
        Ok(Response::new(self.response.clone()))
    }

    async fn write(&self, _: Request<WriteRequest>) -> Result<Response<WriteResponse>, Status> {
        Err(Status::unimplemented("echo"))
    }

    async fn delete(&self, _: Request<DeleteRequest>) -> Result<Response<DeleteResponse>, Status> {
        Err(Status::unimplemented("echo"))
    }

    type ListStream = tokio_stream::Empty<Result<ListResponse, Status>>;

    async fn list(&self, _: Request<ListRequest>) -> Result<Response<Self::ListStream>, Status> {
        Err(Status::unimplemented("echo"))
    }

    async fn databases(&self, _: Request<DatabasesRequest>) -> Result<Response<DatabasesResponse>, Status> {
        Err(Status::unimplemented("echo"))
    }

    async fn tables(&self, _: Request<TablesRequest>) -> Result<Response<TablesResponse>, Status> {
        Err(Status::unimplemented("echo"))
    }
}

/// Completes when stdin reaches end of file (the parent exited or closed it).
async fn stdin_closed() {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await;
}

/// The child process: serves `kind` (`ref` or `echo`) on a free loopback port with `threads`
/// runtime worker threads (0: tokio's default, one per core), prints `listening on ADDR`, and
/// stops when stdin closes.
fn serve(kind: &str, threads: usize) {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if threads > 0 {
        builder.worker_threads(threads);
    }
    let runtime = builder.enable_all().build().expect("tokio runtime");
    runtime.block_on(async {
        let address: SocketAddr = "127.0.0.1:0".parse().expect("address");
        match kind {
            "ref" => {
                let options = micro_server::Options { address, ..micro_server::Options::default() };
                let server = micro_server::Server::bind(options).await.expect("bind the reference server");
                println!("listening on {}", server.local_addr());
                server.serve_with_shutdown(stdin_closed()).await.expect("reference server");
            }
            "echo" => {
                let listener = tokio::net::TcpListener::bind(address).await.expect("bind the echo server");
                println!("listening on {}", listener.local_addr().expect("local address"));
                let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener).map(|stream| {
                    stream.inspect(|tcp| {
                        let _ = tcp.set_nodelay(true);
                    })
                });
                let store = EchoStore { response: ReadResponse { records: vec![record()] } };
                tonic::transport::Server::builder()
                    .add_service(StoreServer::new(store))
                    .serve_with_incoming_shutdown(incoming, stdin_closed())
                    .await
                    .expect("echo server");
            }
            other => panic!("unknown server {other:?}: expected ref or echo"),
        }
    });
}

/// A server child process; killed when dropped.
struct ServerProcess {
    child: Child,
    address: SocketAddr,
    _stdout: BufReader<ChildStdout>,
}

impl ServerProcess {
    fn start(kind: &str, threads: usize) -> Self {
        let exe = std::env::current_exe().expect("current executable");
        let mut child = Command::new(exe)
            .args(["serve", kind, &threads.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a server process");
        let mut stdout = BufReader::new(child.stdout.take().expect("child stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the server's address");
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("{kind} server printed {line:?}"));
        Self { child, address, _stdout: stdout }
    }
}

impl ServerProcess {
    /// The CPU time (user + system) the process has used so far, from `/proc/PID/stat` in
    /// clock ticks of 1/100 s (Linux's fixed `USER_HZ`); `None` where there is no `/proc`.
    fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).ok()?;
        // Fields after the command name (which may hold spaces) start at field 3; utime and stime
        // are fields 14 and 15.
        let rest = stat.rsplit_once(')')?.1;
        let mut fields = rest.split_whitespace().skip(11);
        let utime: u64 = fields.next()?.parse().ok()?;
        let stime: u64 = fields.next()?.parse().ok()?;
        Some(Duration::from_millis((utime + stime) * 10))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/2 connection to `address`.
async fn connect(address: SocketAddr) -> StoreClient<Channel> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{address}"))
        .expect("endpoint")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connect");
    StoreClient::new(channel)
}

/// The calls made in one round and their latencies, microseconds.
struct Round {
    calls: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

/// Keeps `concurrency` reads in flight on `client` for `seconds`.
async fn round(client: &StoreClient<Channel>, concurrency: usize, seconds: f64) -> Round {
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(4096);
                let request = ReadRequest { key: KEY.to_owned(), ..ReadRequest::default() };
                loop {
                    let t = Instant::now();
                    if t >= end {
                        break;
                    }
                    let response = client.read(request.clone()).await.expect("store.Read");
                    latencies.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                    debug_assert_eq!(response.get_ref().records.len(), 1);
                }
                latencies
            })
        })
        .collect();
    let mut latencies_us = Vec::new();
    for task in tasks {
        latencies_us.extend(task.await.expect("load task"));
    }
    let elapsed = start.elapsed();
    Round { calls: latencies_us.len() as u64, elapsed, latencies_us }
}

/// The figures of one server over every measured round.
#[derive(Default)]
struct Totals {
    calls: u64,
    elapsed: Duration,
    latencies_us: Vec<u32>,
    /// The server process's CPU time during the measured rounds, when known.
    cpu: Option<Duration>,
}

impl Totals {
    fn add(&mut self, round: Round) {
        self.calls += round.calls;
        self.elapsed += round.elapsed;
        self.latencies_us.extend(round.latencies_us);
    }

    /// Measures one round against `server`, counting its CPU time.
    async fn measure(
        &mut self,
        server: &ServerProcess,
        client: &StoreClient<Channel>,
        concurrency: usize,
        seconds: f64,
    ) {
        let before = server.cpu_time();
        let measured = round(client, concurrency, seconds).await;
        if let (Some(before), Some(after)) = (before, server.cpu_time()) {
            self.cpu = Some(self.cpu.unwrap_or_default() + after.saturating_sub(before));
        }
        self.add(measured);
    }

    /// The server's CPU time per call, microseconds.
    fn cpu_us_per_call(&self) -> Option<f64> {
        self.cpu.map(|cpu| cpu.as_secs_f64() * 1e6 / self.calls.max(1) as f64)
    }

    fn calls_per_sec(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile (0..=1) of the latencies, milliseconds.
    fn quantile_ms(&mut self, q: f64) -> f64 {
        self.latencies_us.sort_unstable();
        let last = self.latencies_us.len().saturating_sub(1);
        let index = ((last as f64) * q).round() as usize;
        f64::from(self.latencies_us.get(index).copied().unwrap_or_default()) / 1000.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve") {
        let threads = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(0);
        serve(args.get(1).map_or("", String::as_str), threads);
        return;
    }
    let mut rounds = 6usize;
    let mut seconds = 2.0f64;
    let mut concurrency = 64usize;
    let mut json = false;
    let mut server_threads = 0usize;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let mut value = || iter.next().unwrap_or_else(|| panic!("{arg} needs a value")).clone();
        match arg.as_str() {
            "--rounds" => rounds = value().parse().expect("--rounds N"),
            "--seconds" => seconds = value().parse().expect("--seconds S"),
            "--concurrency" => concurrency = value().parse().expect("--concurrency C"),
            "--server-threads" => server_threads = value().parse().expect("--server-threads N"),
            "--json" => json = true,
            other => panic!(
                "unknown argument {other:?}; usage: [--rounds N] [--seconds S] [--concurrency C] [--server-threads N] [--json]"
            ),
        }
    }

    let reference = ServerProcess::start("ref", server_threads);
    let echo = ServerProcess::start("echo", server_threads);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let (mut ref_totals, mut echo_totals) = runtime.block_on(async {
        let mut ref_client = connect(reference.address).await;
        let mut echo_client = connect(echo.address).await;
        ref_client.write(WriteRequest { record: Some(record()), ..WriteRequest::default() }).await.expect("write");
        let request = ReadRequest { key: KEY.to_owned(), ..ReadRequest::default() };
        let from_ref = ref_client.read(request.clone()).await.expect("read from ref").into_inner();
        let from_echo = echo_client.read(request).await.expect("read from echo").into_inner();
        assert_eq!(
            prost::Message::encoded_len(&from_ref),
            prost::Message::encoded_len(&from_echo),
            "the echo server's ReadResponse must have the reference server's size: {from_ref:?} vs {from_echo:?}"
        );
        // Warm-up: connections, allocator pools, the servers' worker threads.
        round(&ref_client, concurrency, seconds / 2.0).await;
        round(&echo_client, concurrency, seconds / 2.0).await;
        let mut ref_totals = Totals::default();
        let mut echo_totals = Totals::default();
        for i in 0..rounds {
            if i % 2 == 0 {
                ref_totals.measure(&reference, &ref_client, concurrency, seconds).await;
                echo_totals.measure(&echo, &echo_client, concurrency, seconds).await;
            } else {
                echo_totals.measure(&echo, &echo_client, concurrency, seconds).await;
                ref_totals.measure(&reference, &ref_client, concurrency, seconds).await;
            }
        }
        (ref_totals, echo_totals)
    });
    drop(reference);
    drop(echo);

    let ratio = ref_totals.calls_per_sec() / echo_totals.calls_per_sec();
    let cpu_ratio = match (echo_totals.cpu_us_per_call(), ref_totals.cpu_us_per_call()) {
        (Some(echo), Some(reference)) if reference > 0.0 => Some(echo / reference),
        _ => None,
    };
    let figures = |t: &mut Totals| {
        serde_json::json!({
            "calls": t.calls,
            "calls_per_sec": t.calls_per_sec(),
            "p50_ms": t.quantile_ms(0.5),
            "p99_ms": t.quantile_ms(0.99),
            "cpu_us_per_call": t.cpu_us_per_call(),
        })
    };
    let summary = serde_json::json!({
        "rounds": rounds,
        "seconds_per_round": seconds,
        "concurrency": concurrency,
        "server_threads": server_threads,
        "ref": figures(&mut ref_totals),
        "echo": figures(&mut echo_totals),
        "ratio": ratio,
        "cpu_ratio": cpu_ratio,
    });
    if json {
        println!("{summary}");
        return;
    }
    println!(
        "unary store.Read, {concurrency} in flight on one HTTP/2 connection, {rounds} x {seconds} s per server, interleaved; server worker threads: {threads}",
        threads = if server_threads == 0 { "one per core".to_owned() } else { server_threads.to_string() }
    );
    for (name, key) in [("reference server", "ref"), ("bare tonic echo", "echo")] {
        let f = &summary[key];
        println!(
            "{name:<18} {:>10.0} calls/s   p50 {:>6.3} ms   p99 {:>6.3} ms   server CPU {:>5.1} us/call",
            f["calls_per_sec"].as_f64().unwrap_or_default(),
            f["p50_ms"].as_f64().unwrap_or_default(),
            f["p99_ms"].as_f64().unwrap_or_default(),
            f["cpu_us_per_call"].as_f64().unwrap_or(f64::NAN)
        );
    }
    println!("ratio reference/echo {ratio:.3}x  (target >= 0.90x)");
    if let Some(cpu_ratio) = cpu_ratio {
        println!("CPU per call, echo/reference {cpu_ratio:.3}x  (1.0 = the reference server costs no more per call)");
    }
}
