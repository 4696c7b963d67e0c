//! Record and entity ids: UUIDv7, so ids sort by creation time and index well.

/// A new UUIDv7 in its hyphenated lower-case form.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().hyphenated().to_string()
}

/// True when `s` is a UUID in hyphenated form (any version).
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::try_parse(s).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_ordered() {
        let a = new_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = new_id();
        assert!(is_uuid(&a));
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 7);
        assert!(a < b);
        assert!(!is_uuid("not-a-uuid"));
    }
}
