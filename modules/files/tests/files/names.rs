//! Property tests: whatever name a client sends, the stored name is safe.

use files::{safe_stored_name, BlobKey, MAX_STORED_NAME_BYTES, RANDOM_SUFFIX_LEN};
use proptest::prelude::*;

fn assert_safe(original: &str) -> Result<(), TestCaseError> {
    let name = safe_stored_name(original);
    prop_assert!(!name.is_empty());
    prop_assert!(name.len() <= MAX_STORED_NAME_BYTES, "{} bytes", name.len());
    prop_assert!(!name.contains('/') && !name.contains('\\'), "{name:?}");
    prop_assert!(!name.contains(".."), "{name:?}");
    prop_assert!(!name.starts_with('.') && !name.starts_with('-'), "{name:?}");
    prop_assert!(!name.chars().any(char::is_control), "{name:?}");
    // Usable as the last segment of a file key.
    prop_assert!(
        BlobKey::for_file("posts", "rec1", &name).is_ok(),
        "{name:?}"
    );
    // `<stem>_<10 random>[.<ext>]`, the extension lowercase ASCII.
    let (before_ext, ext) = match name.split_once('.') {
        Some((s, e)) => (s, Some(e)),
        None => (name.as_str(), None),
    };
    if let Some(ext) = ext {
        prop_assert!(
            ext.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.'),
            "{name:?}"
        );
    }
    let suffix_start = before_ext.len() - RANDOM_SUFFIX_LEN;
    prop_assert_eq!(&before_ext[suffix_start - 1..suffix_start], "_");
    prop_assert!(before_ext[suffix_start..]
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_string_gives_a_safe_name(original in any::<String>()) {
        assert_safe(&original)?;
    }

    #[test]
    fn path_like_and_long_names_give_safe_names(
        parts in prop::collection::vec(
            prop_oneof![
                Just("..".to_string()),
                Just(".".to_string()),
                Just("".to_string()),
                "[a-zA-Z0-9 ._-]{0,40}",
                "\\PC{0,300}",
                "[\u{0}-\u{1f}\u{7f}\u{202e}\u{200b}]{1,5}",
            ],
            0..8,
        ),
        separator in prop_oneof![Just("/"), Just("\\")],
        extension in "(\\.[A-Za-z0-9]{0,25}){0,3}",
    ) {
        assert_safe(&format!("{}{}", parts.join(separator), extension))?;
    }
}

#[test]
fn the_same_original_twice_never_gives_the_same_name() {
    let names: std::collections::HashSet<String> =
        (0..1000).map(|_| safe_stored_name("photo.png")).collect();
    assert_eq!(names.len(), 1000);
}
