//! The tool against a fake server on loopback: every mode completes, a clean server
//! gives 0 missing and 0 duplicated, and an injected loss or duplicate is counted.

mod fake;

use std::sync::Arc;
use std::time::Duration;

use fake::{FakeShape, Faults};
use sse_fanout::modes::{self, Mode, Settings};
use sse_fanout::target::{Shape, Target};

fn target(shape: Shape, addr: std::net::SocketAddr) -> Arc<Target> {
    Arc::new(Target {
        shape,
        addr,
        host: addr.to_string(),
        stream_path: shape.default_stream_path("posts"),
        create_path: shape.default_create_path("posts"),
        topic: "posts".to_string(),
        seq_field: "views".to_string(),
    })
}

fn settings(subscribers: usize) -> Settings {
    Settings {
        label: "fake".to_string(),
        subscribers,
        rate: 200.0,
        duration: Duration::from_millis(1000),
        writers: 4,
        max_backlog: 1_000_000,
        saturation_window: 100,
        max_creates: 100_000,
        connect_parallel: 16,
        setup_timeout: Duration::from_secs(10),
        idle_hold: Duration::from_millis(300),
        drain_idle: Duration::from_millis(500),
        drain_max: Duration::from_secs(5),
        // The test process itself stands in for the server's /proc entry.
        server_pid: Some(std::process::id()),
    }
}

async fn fanout(fake: FakeShape, shape: Shape, faults: Faults) -> serde_json::Value {
    let addr = fake::start(fake, faults).await;
    let rows = modes::run(target(shape, addr), Mode::Fanout, &settings(20))
        .await
        .expect("fan-out runs");
    assert_eq!(rows.len(), 1);
    rows[0].json.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_fanout_on_both_shapes() {
    for (fake, shape) in [
        (FakeShape::Hearth, Shape::Hearth),
        (FakeShape::Pocketbase, Shape::Pocketbase),
    ] {
        let row = fanout(fake, shape, Faults::default()).await;
        assert_eq!(row["streams_opened"], 20, "{row}");
        assert_eq!(row["missing"], 0, "{row}");
        assert_eq!(row["duplicates"], 0, "{row}");
        assert_eq!(row["drained"], true, "{row}");
        let creates = row["creates"].as_u64().unwrap();
        // 200/s for 1 s, open loop; the schedule's last slot may fall past the deadline.
        assert!((190..=200).contains(&creates), "creates {creates}: {row}");
        assert_eq!(row["deliveries"].as_u64().unwrap(), creates * 20, "{row}");
        let p99 = row["latency_from_send_ms"]["p99"].as_f64().unwrap();
        assert!(p99 > 0.0 && p99 < 500.0, "p99 from send {p99}: {row}");
        assert_eq!(
            row["latency_from_ack_ms"]["count"].as_u64().unwrap(),
            creates * 20
        );
        assert!(row["server_cpu_us"].as_u64().is_some(), "{row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_and_a_duplicated_event_are_counted() {
    let faults = Faults {
        skip_seq_on_first: Some(60),
        duplicate_seq_on_first: Some(80),
    };
    let row = fanout(FakeShape::Hearth, Shape::Hearth, faults).await;
    assert_eq!(row["missing"], 1, "{row}");
    assert_eq!(row["worst_stream_missing"], 1, "{row}");
    assert_eq!(row["duplicates"], 1, "{row}");
    // The duplicate repeats its id, which is not above the one before.
    assert_eq!(row["id_regressions"], 1, "{row}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_saturation_and_throughput_modes() {
    let addr = fake::start(FakeShape::Hearth, Faults::default()).await;
    let t = target(Shape::Hearth, addr);
    let mut s = settings(10);
    s.duration = Duration::from_millis(500);

    let idle = modes::run(t.clone(), Mode::Idle, &s)
        .await
        .expect("idle runs");
    assert_eq!(idle[0].json["streams_opened"], 10);
    assert_eq!(
        idle[0].json["heartbeats"], 10,
        "one ping per stream: {}",
        idle[0].json
    );
    assert!(idle[0].json["idle_kb_per_stream"].is_number());

    let rows = modes::run(t, Mode::Throughput, &s)
        .await
        .expect("throughput runs");
    assert_eq!(rows.len(), 2);
    let (alone, with) = (&rows[0].json, &rows[1].json);
    assert_eq!(alone["subscribers"], 0);
    assert!(alone["creates"].as_u64().unwrap() > 10, "{alone}");
    assert_eq!(with["missing"], 0, "{with}");
    assert_eq!(
        with["deliveries"].as_u64().unwrap(),
        with["creates"].as_u64().unwrap() * 10
    );
    assert!(with["create_ratio_vs_no_streams"].as_f64().unwrap() > 0.0);
    assert!(
        rows[1].markdown.contains("of no streams"),
        "{}",
        rows[1].markdown
    );
}

#[tokio::test]
async fn a_server_that_refuses_streams_is_an_error() {
    // The PocketBase path on a Hearth-shaped server: 404, no stream opens.
    let addr = fake::start(FakeShape::Hearth, Faults::default()).await;
    let err = modes::run(target(Shape::Pocketbase, addr), Mode::Fanout, &settings(3))
        .await
        .err()
        .expect("no stream opened");
    assert!(
        err.contains("no stream opened") && err.contains("404"),
        "{err}"
    );
}

#[tokio::test]
async fn a_server_that_never_answers_does_not_hang_the_round() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp); // accepted, never read from or answered
        }
    });
    let mut s = settings(2);
    s.setup_timeout = Duration::from_millis(500);
    let started = std::time::Instant::now();
    let err = modes::run(target(Shape::Hearth, addr), Mode::Fanout, &s)
        .await
        .err()
        .expect("no stream");
    assert!(err.contains("no event stream within"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}
