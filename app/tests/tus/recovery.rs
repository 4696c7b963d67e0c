//! What a crash can leave in a staging file, and how the next request finds it: bytes
//! past the acknowledged offset (a PATCH whose offset never committed) are cut off;
//! acknowledged bytes the disk lost move the offset back, so the client resends them.

use crate::helpers::*;
use std::io::Write;

#[tokio::test]
async fn unacknowledged_bytes_are_cut_off_and_lost_ones_resent() {
    let t = setup().await;
    let data = content(1000);
    let path = t.create(1000).await;
    assert_eq!(t.patch(&path, 0, &data[..300], None).await.status(), 204);
    // A PATCH that wrote but crashed before its offset committed.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(t.staged(&path))
        .unwrap();
    file.write_all(b"never acknowledged").unwrap();
    drop(file);
    assert_eq!(t.offset(&path).await, 300);
    assert_eq!(std::fs::metadata(t.staged(&path)).unwrap().len(), 300);
    // A disk that lost acknowledged bytes.
    std::fs::OpenOptions::new()
        .write(true)
        .open(t.staged(&path))
        .unwrap()
        .set_len(100)
        .unwrap();
    assert_eq!(t.offset(&path).await, 100);
    let r = t.patch(&path, 300, &data[300..], None).await;
    assert_eq!(r.status(), 409);
    assert_eq!(t.patch(&path, 100, &data[100..], None).await.status(), 204);
    assert_eq!(std::fs::read(t.staged(&path)).unwrap(), data);
    let info = t.library().info(id_of(&path), &t.user_id).await.unwrap();
    // Hashed from the file, as this process did not see every byte in order.
    assert_eq!(info.sha256_hex.as_deref(), Some(sha256_hex(&data).as_str()));
}

#[tokio::test]
async fn a_missing_staging_file_starts_the_upload_again() {
    let t = setup().await;
    let path = t.create(6).await;
    std::fs::remove_file(t.staged(&path)).unwrap();
    assert_eq!(t.offset(&path).await, 0);
    assert_eq!(t.patch(&path, 0, b"abcdef", None).await.status(), 204);
    assert_eq!(std::fs::read(t.staged(&path)).unwrap(), b"abcdef");
}
