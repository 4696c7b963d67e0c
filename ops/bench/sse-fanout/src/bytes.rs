//! Byte search a word at a time: a delivery is a few hundred bytes scanned for line ends
//! and quotes, a million times a second on the cores the server needs too, and a loop
//! with an early exit over single bytes is not vectorised.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The index of the first `needle` in `haystack`.
pub fn find_byte(haystack: &[u8], needle: u8) -> Option<usize> {
    let pattern = ONES * u64::from(needle);
    let mut words = haystack.chunks_exact(8);
    for (i, chunk) in words.by_ref().enumerate() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        // Bytes equal to the needle become zero; the lowest flagged byte is the first zero
        // (flags above it may be false, borrows only propagate upwards).
        let x = u64::from_le_bytes(bytes) ^ pattern;
        let zero = x.wrapping_sub(ONES) & !x & HIGHS;
        if zero != 0 {
            return Some(i * 8 + (zero.trailing_zeros() / 8) as usize);
        }
    }
    let tail = words.remainder();
    let start = haystack.len() - tail.len();
    tail.iter().position(|&b| b == needle).map(|p| start + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_a_plain_search() {
        let text: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        for needle in [0u8, 1, b'\n', b'"', 0x80, 0xff, 250] {
            for start in 0..20 {
                for end in start..text.len().min(start + 40) {
                    let slice = &text[start..end];
                    let plain = slice.iter().position(|&b| b == needle);
                    assert_eq!(
                        find_byte(slice, needle),
                        plain,
                        "needle {needle} in {start}..{end}"
                    );
                }
            }
        }
        assert_eq!(find_byte(b"", b'x'), None);
        assert_eq!(
            find_byte(b"\x01\x00\x00\x00\x00\x00\x00\x00\n", b'\n'),
            Some(8)
        );
        assert_eq!(find_byte(b"abcdefg\x81\n", b'\n'), Some(8));
    }
}
