//! The redb spool against the `WebhookSpool` contract, on real files in a temporary directory.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use adapters_spool::{RedbSpool, SpoolOpenError, SpoolSettings};
use chrono::{DateTime, TimeZone, Utc};
use ports::{SpoolError, SpoolSeq, SpoolStats, SpooledKind, SpooledWebhook, WebhookSpool};
use tempfile::TempDir;

const ROOMY: u64 = 64 << 20;

fn open(dir: &TempDir, max_bytes: u64) -> RedbSpool {
    RedbSpool::open(SpoolSettings { dir: dir.path().to_path_buf(), max_bytes }).expect("open the spool")
}

/// A distinct inbound webhook; all of them serialize to the same length for `n < 1000`.
fn webhook(n: u32) -> SpooledWebhook {
    SpooledWebhook {
        kind: SpooledKind::Inbound,
        account_sid: "AC00000000000000000000000000000001".to_owned(),
        fields: vec![
            ("MessageSid".to_owned(), format!("SM{n:032}")),
            ("From".to_owned(), "+15005550006".to_owned()),
            ("Body".to_owned(), format!("message {n:03}")),
        ],
        received_at: Utc.timestamp_opt(1_767_225_600 + i64::from(n), 0).single().expect("valid time"),
        message_id: None,
    }
}

/// What the bound counts for an entry: its serialized length.
fn len(webhook: &SpooledWebhook) -> u64 {
    serde_json::to_vec(webhook).expect("serialize").len() as u64
}

async fn push_all(spool: &RedbSpool, webhooks: &[SpooledWebhook]) -> Vec<SpoolSeq> {
    let mut seqs = Vec::new();
    for webhook in webhooks {
        seqs.push(spool.push(webhook.clone()).await.expect("push"));
    }
    seqs
}

#[tokio::test]
async fn oldest_returns_the_entries_in_push_order_without_removing_them() {
    let dir = TempDir::new().expect("temp dir");
    let spool = open(&dir, ROOMY);
    assert_eq!(spool.stats().await.expect("stats"), SpoolStats::default());

    let webhooks: Vec<_> = (0..5).map(webhook).collect();
    let seqs = push_all(&spool, &webhooks).await;
    assert!(seqs.windows(2).all(|pair| pair[0] < pair[1]), "seqs increase: {seqs:?}");

    let expected: Vec<_> = seqs.iter().copied().zip(webhooks.iter().cloned()).collect();
    assert_eq!(spool.oldest(10).await.expect("oldest"), expected);
    assert_eq!(spool.oldest(10).await.expect("oldest again"), expected, "reading does not consume");
    assert_eq!(spool.oldest(2).await.expect("oldest 2"), expected[..2]);
    assert!(spool.oldest(0).await.expect("oldest 0").is_empty());

    let stats = spool.stats().await.expect("stats");
    assert_eq!(
        stats,
        SpoolStats {
            depth: 5,
            bytes: webhooks.iter().map(len).sum(),
            oldest_received_at: Some(webhooks[0].received_at),
            buried: 0,
        }
    );
}

#[tokio::test]
async fn remove_deletes_that_entry_only_and_a_missing_one_is_not_an_error() {
    let dir = TempDir::new().expect("temp dir");
    let spool = open(&dir, ROOMY);
    let webhooks: Vec<_> = (0..3).map(webhook).collect();
    let seqs = push_all(&spool, &webhooks).await;

    spool.remove(vec![seqs[1]]).await.expect("remove the middle one");
    assert_eq!(
        spool.oldest(10).await.expect("oldest"),
        vec![(seqs[0], webhooks[0].clone()), (seqs[2], webhooks[2].clone())]
    );
    let after_one = spool.stats().await.expect("stats");
    assert_eq!(after_one.depth, 2);
    assert_eq!(after_one.bytes, len(&webhooks[0]) + len(&webhooks[2]));

    spool.remove(vec![seqs[1]]).await.expect("removing it twice is fine");
    spool.remove(vec![SpoolSeq(999_999)]).await.expect("removing an unknown seq is fine");
    assert_eq!(spool.stats().await.expect("stats"), after_one, "no-op removes change nothing");

    spool.remove(vec![seqs[0]]).await.expect("remove the oldest");
    let stats = spool.stats().await.expect("stats");
    assert_eq!(stats.oldest_received_at, Some(webhooks[2].received_at), "the next one is now oldest");
    assert_eq!((stats.depth, stats.bytes), (1, len(&webhooks[2])));

    spool.remove(vec![seqs[2]]).await.expect("remove the last");
    assert_eq!(spool.stats().await.expect("stats"), SpoolStats::default());
}

#[tokio::test]
async fn bury_moves_the_entry_to_the_dead_letters_with_its_reason() {
    let dir = TempDir::new().expect("temp dir");
    let spool = open(&dir, ROOMY);
    let webhooks: Vec<_> = (0..3).map(webhook).collect();
    let seqs = push_all(&spool, &webhooks).await;

    let before = Utc::now();
    spool.bury(seqs[1], "account AC…01 was deleted".to_owned()).await.expect("bury");
    let after = Utc::now();

    assert_eq!(
        spool.oldest(10).await.expect("oldest"),
        vec![(seqs[0], webhooks[0].clone()), (seqs[2], webhooks[2].clone())]
    );
    let stats = spool.stats().await.expect("stats");
    assert_eq!(
        stats,
        SpoolStats {
            depth: 2,
            bytes: len(&webhooks[0]) + len(&webhooks[2]),
            oldest_received_at: Some(webhooks[0].received_at),
            buried: 1,
        }
    );

    let buried = spool.buried(10).await.expect("dead letters");
    assert_eq!(buried.len(), 1);
    let (seq, letter) = &buried[0];
    assert_eq!(*seq, seqs[1]);
    assert_eq!(letter.webhook, webhooks[1]);
    assert_eq!(letter.reason, "account AC…01 was deleted");
    // Stored to the microsecond.
    let floor = DateTime::from_timestamp_micros(before.timestamp_micros()).expect("time");
    assert!(floor <= letter.buried_at && letter.buried_at <= after, "buried at {}", letter.buried_at);

    spool.bury(seqs[1], "again".to_owned()).await.expect("burying a buried seq is fine");
    spool.bury(SpoolSeq(999_999), "unknown".to_owned()).await.expect("burying an unknown seq is fine");
    spool.remove(vec![seqs[1]]).await.expect("remove does not reach the dead letters");
    assert_eq!(spool.stats().await.expect("stats"), stats);
    assert_eq!(spool.buried(10).await.expect("dead letters"), buried);
}

#[tokio::test]
async fn a_push_past_the_bound_is_refused_writes_nothing_and_a_remove_makes_room() {
    let dir = TempDir::new().expect("temp dir");
    let one = len(&webhook(0));
    // Two entries fit exactly (the bound is inclusive); a third does not.
    let spool = open(&dir, 2 * one);
    let seqs = push_all(&spool, &[webhook(0), webhook(1)]).await;
    let full = spool.stats().await.expect("stats");
    assert_eq!(full.bytes, 2 * one);

    assert_eq!(spool.push(webhook(2)).await, Err(SpoolError::Full));
    assert_eq!(spool.stats().await.expect("stats"), full, "a refused push changes nothing");
    assert_eq!(spool.oldest(10).await.expect("oldest").len(), 2);

    spool.remove(vec![seqs[0]]).await.expect("remove");
    let seq = spool.push(webhook(2)).await.expect("there is room again");
    assert_eq!(seq, SpoolSeq(seqs[1].0 + 1), "the refused push took no sequence number");
    assert_eq!(spool.push(webhook(3)).await, Err(SpoolError::Full));
    assert_eq!(spool.oldest(10).await.expect("oldest"), vec![(seqs[1], webhook(1)), (seq, webhook(2))]);
}

#[tokio::test]
async fn an_entry_larger_than_the_whole_bound_is_refused_on_an_empty_spool() {
    let dir = TempDir::new().expect("temp dir");
    let spool = open(&dir, len(&webhook(0)) - 1);
    assert_eq!(spool.push(webhook(0)).await, Err(SpoolError::Full));
    assert_eq!(spool.stats().await.expect("stats"), SpoolStats::default());
}

#[tokio::test]
async fn reopening_keeps_entries_order_stats_dead_letters_and_sequence_numbering() {
    let dir = TempDir::new().expect("temp dir");
    let webhooks: Vec<_> = (0..5).map(webhook).collect();
    let (seqs, stats, waiting, buried) = {
        let spool = open(&dir, ROOMY);
        let seqs = push_all(&spool, &webhooks).await;
        spool.bury(seqs[0], "unparseable".to_owned()).await.expect("bury");
        // Removing the highest seq must not let a later push reuse it.
        spool.remove(vec![seqs[4]]).await.expect("remove");
        let clone = spool.clone();
        (
            seqs,
            clone.stats().await.expect("stats"),
            clone.oldest(10).await.expect("oldest"),
            clone.buried(10).await.expect("dead letters"),
        )
        // Every clone is dropped here, which closes the file.
    };
    assert_eq!(waiting.len(), 3);

    let spool = open(&dir, ROOMY);
    assert_eq!(spool.stats().await.expect("stats"), stats);
    assert_eq!(spool.oldest(10).await.expect("oldest"), waiting);
    assert_eq!(spool.buried(10).await.expect("dead letters"), buried);

    let next = spool.push(webhook(5)).await.expect("push after reopen");
    assert!(next > seqs[4], "{next:?} continues after {:?}", seqs[4]);
    let mut expected = waiting.clone();
    expected.push((next, webhook(5)));
    assert_eq!(spool.oldest(10).await.expect("oldest"), expected);
}

#[tokio::test]
async fn the_file_cannot_be_opened_twice_at_once() {
    let dir = TempDir::new().expect("temp dir");
    let _spool = open(&dir, ROOMY);
    let second = RedbSpool::open(SpoolSettings { dir: dir.path().to_path_buf(), max_bytes: ROOMY });
    assert!(matches!(second, Err(SpoolOpenError::Open { .. })), "{second:?}");
}

#[tokio::test]
async fn open_creates_missing_directories_and_says_which_path_failed() {
    let dir = TempDir::new().expect("temp dir");
    let nested = dir.path().join("var").join("spool");
    let spool = RedbSpool::open(SpoolSettings { dir: nested.clone(), max_bytes: ROOMY }).expect("open");
    assert_eq!(spool.path(), nested.join("webhooks.redb"));
    assert!(spool.path().is_file());

    let not_a_dir = dir.path().join("plain-file");
    std::fs::write(&not_a_dir, b"x").expect("write a file");
    let error = RedbSpool::open(SpoolSettings { dir: not_a_dir.join("spool"), max_bytes: ROOMY })
        .expect_err("a directory under a file cannot be created");
    assert!(matches!(error, SpoolOpenError::CreateDir { .. }), "{error:?}");
    assert!(error.to_string().contains("plain-file"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_pushes_all_land_with_distinct_sequence_numbers() {
    let dir = TempDir::new().expect("temp dir");
    let spool = open(&dir, ROOMY);
    let tasks: Vec<_> = (0..20u32)
        .map(|task| {
            let spool = spool.clone();
            tokio::spawn(async move {
                let mut pushed = Vec::new();
                for i in 0..10 {
                    let webhook = webhook(task * 10 + i);
                    pushed.push((spool.push(webhook.clone()).await.expect("push"), webhook));
                }
                pushed
            })
        })
        .collect();
    let mut pushed = BTreeMap::new();
    for task in tasks {
        for (seq, webhook) in task.await.expect("task") {
            assert!(pushed.insert(seq, webhook).is_none(), "{seq:?} was handed out twice");
        }
    }
    assert_eq!(pushed.len(), 200);

    let stored = spool.oldest(1000).await.expect("oldest");
    assert_eq!(stored, pushed.into_iter().collect::<Vec<_>>(), "every push landed, in seq order");
    let stats = spool.stats().await.expect("stats");
    assert_eq!(stats.depth, 200);
    assert_eq!(stats.bytes, stored.iter().map(|(_, w)| len(w)).sum::<u64>());
    let distinct_bodies: BTreeSet<_> = stored.iter().map(|(_, w)| w.fields[0].1.clone()).collect();
    assert_eq!(distinct_bodies.len(), 200);
}

#[tokio::test]
async fn sequential_pushes_report_their_latency() {
    // Not a benchmark and nothing asserted on time: a rough figure for the ADR
    // (`cargo test -p adapters-spool -- --nocapture latency`).
    let dir = TempDir::new().expect("temp dir");
    let spool = open(&dir, ROOMY);
    let started = Instant::now();
    for n in 0..200 {
        spool.push(webhook(n)).await.expect("push");
    }
    let elapsed = started.elapsed();
    println!("200 sequential pushes: {elapsed:?} in all, {:?} each", elapsed / 200);
    assert_eq!(spool.stats().await.expect("stats").depth, 200);
}

#[tokio::test]
async fn an_entry_round_trips_exactly_even_across_a_reopen() {
    let dir = TempDir::new().expect("temp dir");
    let original = SpooledWebhook {
        kind: SpooledKind::Status,
        account_sid: "AC0123456789abcdef0123456789abcdef".to_owned(),
        fields: vec![
            ("Body".to_owned(), "Grüße 👋🏽 — مرحبا, e\u{301}, \"quoted\"\\ \n\ttab \u{0} nul".to_owned()),
            ("MediaUrl0".to_owned(), "https://example.com/a?x=1&y=2".to_owned()),
            ("Body".to_owned(), String::new()),
            ("Body".to_owned(), "the same name a third time".to_owned()),
            ("".to_owned(), "an empty name".to_owned()),
            ("名前".to_owned(), "値".to_owned()),
        ],
        received_at: Utc.timestamp_opt(1_767_225_600, 123_456_789).single().expect("valid time"),
        // A status callback's message id, from its URL, is kept too.
        message_id: Some(serde_json::from_str("\"01938f2c-5a6b-7c8d-9e0f-112233445566\"").expect("an id")),
    };
    let seq = {
        let spool = open(&dir, ROOMY);
        let seq = spool.push(original.clone()).await.expect("push");
        assert_eq!(spool.oldest(1).await.expect("oldest"), vec![(seq, original.clone())]);
        seq
    };
    let spool = open(&dir, ROOMY);
    let stored = spool.oldest(1).await.expect("oldest");
    assert_eq!(stored, vec![(seq, original.clone())]);
    assert_eq!(stored[0].1.received_at.timestamp_subsec_nanos(), 123_456_789);
    assert_eq!(spool.stats().await.expect("stats").oldest_received_at, Some(original.received_at));
}
