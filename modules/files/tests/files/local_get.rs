//! `get` with ranges, `head` and `list` on the local backend.

use crate::common::*;
use files::{ByteRange, StoreError};
use futures_util::TryStreamExt;
use std::collections::BTreeMap;

#[tokio::test]
async fn ranges_return_exactly_the_asked_bytes_with_the_total_size() {
    let (_dir, store) = local();
    // Larger than one read chunk (256 KiB), so ranges cross chunk boundaries.
    let data = content(700_000, 9);
    let k = key("v/r/video_x.bin");
    store
        .put(&k, chunked(&data, 65_536), 1 << 20)
        .await
        .unwrap();
    let len = data.len() as u64;
    let cases = [
        (ByteRange::Bounded(0..1), 0..1),
        (ByteRange::Bounded(262_143..262_145), 262_143..262_145),
        (ByteRange::Bounded(600_000..2_000_000), 600_000..len),
        (ByteRange::From(500_000), 500_000..len),
        (ByteRange::Suffix(10), len - 10..len),
        (ByteRange::Suffix(10_000_000), 0..len),
    ];
    for (range, expected) in cases {
        let fetched = store.get(&k, Some(range.clone())).await.unwrap();
        assert_eq!(fetched.size, len);
        assert_eq!(fetched.range, expected, "{range:?}");
        let bytes = collect(fetched.stream).await;
        assert_eq!(
            bytes,
            data[expected.start as usize..expected.end as usize],
            "{range:?}"
        );
    }
    let whole = store.get(&k, None).await.unwrap();
    assert_eq!(whole.range, 0..len);
}

#[tokio::test]
async fn ranges_that_select_nothing_are_not_satisfiable_and_say_the_size() {
    let (_dir, store) = local();
    let k = key("v/r/small_x");
    store.put(&k, chunked(b"0123456789", 3), 100).await.unwrap();
    for range in [
        ByteRange::From(10),
        ByteRange::Bounded(10..20),
        ByteRange::Bounded(4..4),
        ByteRange::Suffix(0),
    ] {
        let err = store.get(&k, Some(range.clone())).await.unwrap_err();
        assert!(
            matches!(err, StoreError::RangeNotSatisfiable { size: 10 }),
            "{range:?}: {err:?}"
        );
    }
    let missing = store
        .get(&key("v/r/none"), Some(ByteRange::From(0)))
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NotFound { .. }));
}

#[tokio::test]
async fn head_and_list_describe_what_is_stored_and_skip_what_is_not_a_blob() {
    let (dir, store) = local();
    let keys = ["p/r1/a_x", "p/r1/b_x", "p/r2/c_x", "q/r3/d_x"];
    for (i, k) in keys.iter().enumerate() {
        store
            .put(&key(k), chunked(&content(100 * (i + 1), 0), 64), 1 << 20)
            .await
            .unwrap();
    }
    let head = store.head(&key("p/r2/c_x")).await.unwrap();
    assert_eq!(head.size, 300);
    assert!(head.last_modified.elapsed().unwrap().as_secs() < 60);

    // Things the store did not make: a hidden file, a half-made upload, a symlink.
    std::fs::write(root(&dir).join("p/.hidden"), b"x").unwrap();
    std::fs::write(root(&dir).join(".tmp/0190-partial"), b"x").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root(&dir).join("p/r1/link")).unwrap();

    let all: BTreeMap<String, u64> = store
        .list(None)
        .map_ok(|b| (b.key.to_string(), b.size))
        .try_collect()
        .await
        .unwrap();
    let expected: BTreeMap<String, u64> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_string(), 100 * (i as u64 + 1)))
        .collect();
    assert_eq!(all, expected);

    let under: Vec<String> = store
        .list(Some(&key("p/r1")))
        .map_ok(|b| b.key.to_string())
        .try_collect()
        .await
        .unwrap();
    let mut under = under;
    under.sort();
    assert_eq!(under, ["p/r1/a_x", "p/r1/b_x"]);
    let none: Vec<_> = store
        .list(Some(&key("nothing/here")))
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());
}
