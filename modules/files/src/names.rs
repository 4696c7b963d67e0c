//! Stored names: what a file is called on disk and in its URL, made from the name the
//! client sent but never trusting it. The original name is the caller's to keep as
//! metadata; the stored name is `<stem>_<10 random chars>[.<ext>]` (PocketBase's shape),
//! so two uploads of `photo.png` never collide and a name cannot be guessed from the
//! original alone.

use rand::Rng;

/// The longest stored name, in bytes.
pub const MAX_STORED_NAME_BYTES: usize = 200;

/// Random characters appended to every stored name.
pub const RANDOM_SUFFIX_LEN: usize = 10;

/// Longer extensions are dropped (they are not extensions but names with a dot).
const MAX_EXTENSION_BYTES: usize = 20;

/// The stem used when nothing usable is left of the original.
const EMPTY_STEM: &str = "file";

const SUFFIX_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A safe, unique name for a file the client called `original`:
/// - only the last path component counts (`/` and `\` both separate);
/// - the extension (after the last `.`) is kept if it is 1 to 20 ASCII letters or
///   digits, lowercased (`tar.gz` is kept whole);
/// - in the stem, letters, digits, `-` and `_` are kept and every other character
///   (dots, spaces, control and format characters, punctuation) becomes `_`, runs of
///   `_` are collapsed, and `_`/`-` trimmed from both ends; an empty stem is `file`;
/// - the stem is cut (on a character boundary) so that the whole name fits in
///   `MAX_STORED_NAME_BYTES` bytes.
///
/// The result has no `/`, `\`, control characters or `..`, does not start with `.`
/// or `-`, and is a valid key segment.
pub fn safe_stored_name(original: &str) -> String {
    let last = original
        .rsplit(['/', '\\'])
        .find(|part| !part.trim().is_empty())
        .unwrap_or("");
    let (stem, extension) = split_extension(last);
    let mut stem = clean_stem(stem);
    let fixed = 1 + RANDOM_SUFFIX_LEN + extension.as_ref().map_or(0, |e| e.len() + 1);
    truncate_on_char_boundary(&mut stem, MAX_STORED_NAME_BYTES - fixed);
    let trimmed_len = stem.trim_end_matches(['_', '-']).len();
    stem.truncate(trimmed_len);
    if stem.is_empty() {
        stem.push_str(EMPTY_STEM);
    }
    let mut name = String::with_capacity(stem.len() + fixed);
    name.push_str(&stem);
    name.push('_');
    name.push_str(&random_suffix());
    if let Some(extension) = extension {
        name.push('.');
        name.push_str(&extension);
    }
    name
}

/// `("photo", Some("png"))` for `photo.PNG`; no extension for `.bashrc`, `name.` or an
/// "extension" with other characters than ASCII letters and digits.
fn split_extension(name: &str) -> (&str, Option<String>) {
    let Some(dot) = name.rfind('.').filter(|&dot| dot > 0) else {
        return (name, None);
    };
    let extension = &name[dot + 1..];
    if extension.is_empty()
        || extension.len() > MAX_EXTENSION_BYTES
        || !extension.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return (name, None);
    }
    let stem = &name[..dot];
    let extension = extension.to_ascii_lowercase();
    // The one common double extension: `x.tar.gz` stays a `.tar.gz`.
    if let Some(tar_stem) = stem
        .strip_suffix(".tar")
        .or_else(|| stem.strip_suffix(".TAR"))
    {
        if !tar_stem.is_empty() {
            return (tar_stem, Some(format!("tar.{extension}")));
        }
    }
    (stem, Some(extension))
}

fn clean_stem(stem: &str) -> String {
    let mut out = String::with_capacity(stem.len());
    for c in stem.chars() {
        let c = if c.is_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '_'
        };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out.trim_matches(['_', '-']).to_string()
}

fn truncate_on_char_boundary(s: &mut String, max_bytes: usize) {
    if s.len() <= max_bytes {
        return;
    }
    let mut end = max_bytes;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
}

fn random_suffix() -> String {
    let mut rng = rand::rng();
    (0..RANDOM_SUFFIX_LEN)
        .map(|_| SUFFIX_ALPHABET[rng.random_range(0..SUFFIX_ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The name without its random suffix, e.g. `photo_.png` for `photo_k3j2h1g0f9.png`.
    fn shape(name: &str) -> String {
        let (stem_and_suffix, ext) = match name.split_once('.') {
            Some((s, e)) => (s, format!(".{e}")),
            None => (name, String::new()),
        };
        let stem = &stem_and_suffix[..stem_and_suffix.len() - RANDOM_SUFFIX_LEN];
        format!("{stem}{ext}")
    }

    #[test]
    fn ordinary_names_keep_their_stem_and_lowercase_their_extension() {
        assert_eq!(shape(&safe_stored_name("photo.PNG")), "photo_.png");
        assert_eq!(
            shape(&safe_stored_name("My Report (v2).pdf")),
            "My_Report_v2_.pdf"
        );
        assert_eq!(shape(&safe_stored_name("backup.TAR.GZ")), "backup_.tar.gz");
        assert_eq!(shape(&safe_stored_name("été-été.jpg")), "été-été_.jpg");
        assert_eq!(shape(&safe_stored_name("README")), "README_");
    }

    #[test]
    fn paths_dots_and_control_characters_are_removed() {
        assert_eq!(shape(&safe_stored_name("../../etc/passwd")), "passwd_");
        assert_eq!(
            shape(&safe_stored_name("C:\\Users\\x\\cv.docx")),
            "cv_.docx"
        );
        assert_eq!(shape(&safe_stored_name("a/b/")), "b_");
        assert_eq!(shape(&safe_stored_name("..")), "file_");
        assert_eq!(shape(&safe_stored_name(".bashrc")), "bashrc_");
        assert_eq!(shape(&safe_stored_name("")), "file_");
        assert_eq!(shape(&safe_stored_name("a\u{0}b\nc.txt")), "a_b_c_.txt");
        // Right-to-left override: a format character, not a letter.
        assert_eq!(shape(&safe_stored_name("x\u{202e}gnp.exe")), "x_gnp_.exe");
        assert_eq!(shape(&safe_stored_name("-rf.sh")), "rf_.sh");
        assert_eq!(shape(&safe_stored_name("weird.ex t")), "weird_ex_t_");
    }

    #[test]
    fn long_names_are_cut_to_200_bytes_on_a_character_boundary() {
        let name = safe_stored_name(&format!("{}.png", "é".repeat(300)));
        assert!(name.len() <= MAX_STORED_NAME_BYTES, "{}", name.len());
        assert!(name.ends_with(".png"));
        let name = safe_stored_name(&"x".repeat(1000));
        assert_eq!(name.len(), MAX_STORED_NAME_BYTES);
    }

    #[test]
    fn two_uploads_of_one_name_get_different_stored_names() {
        assert_ne!(safe_stored_name("a.png"), safe_stored_name("a.png"));
    }
}
