//! argon2id password hashing, off the async runtime and bounded, so a login flood
//! queues instead of starving request handling.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane (~25 ms per hash on this class of machine).
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;

pub const MIN_LENGTH: usize = 8;
/// Long inputs cost hashing time; nobody needs more.
pub const MAX_BYTES: usize = 1024;

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so timing does not reveal it.
    dummy_hash: Arc<str>,
}

fn params() -> Params {
    Params::new(MEMORY_KIB, PASSES, LANES, None).expect("constant params are valid")
}

/// argon2's working memory (19 MiB per hash), mapped from the OS for one hash and
/// unmapped right after. Through the process allocator the freed 19 MiB stayed
/// resident: mimalloc keeps it for reuse, and glibc, once it has seen a free of that
/// size, serves the next one from its heap and keeps that too. The dummy hash made at
/// start-up alone kept an idle server 19 MiB larger.
struct WorkMemory {
    blocks: std::ptr::NonNull<Block>,
    count: usize,
}

impl WorkMemory {
    fn map(count: usize) -> WorkMemory {
        let len = count * std::mem::size_of::<Block>();
        // SAFETY: an anonymous private mapping: no file, no aliasing; checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            std::alloc::handle_alloc_error(
                std::alloc::Layout::array::<Block>(count).expect("block count fits a layout"),
            );
        }
        WorkMemory {
            // Page-aligned, so aligned for Block; an anonymous mapping is zero-filled,
            // and zero bytes are a valid Block.
            blocks: std::ptr::NonNull::new(ptr.cast()).expect("mmap never maps page 0"),
            count,
        }
    }
}

impl AsMut<[Block]> for WorkMemory {
    fn as_mut(&mut self) -> &mut [Block] {
        // SAFETY: `count` initialised Blocks, owned by self, borrowed mutably once.
        unsafe { std::slice::from_raw_parts_mut(self.blocks.as_ptr(), self.count) }
    }
}

impl Drop for WorkMemory {
    fn drop(&mut self) {
        let len = self.count * std::mem::size_of::<Block>();
        // SAFETY: exactly the mapping made in `map`, unmapped once.
        unsafe { libc::munmap(self.blocks.as_ptr().cast(), len) };
    }
}

/// The raw argon2 output for `password` and `salt` into `out`.
fn compute(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let memory = WorkMemory::map(params.block_count());
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, memory)
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`), as the argon2 crate's
/// own `PasswordHasher` writes it.
fn hash_blocking(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt_b64 = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
    let params = params();
    let output = Output::init_with(Params::DEFAULT_OUTPUT_LEN, |out| {
        compute(
            Algorithm::Argon2id,
            Version::V0x13,
            params.clone(),
            password.as_bytes(),
            &salt,
            out,
        )
        .map_err(Into::into)
    })
    .expect("argon2 with valid params and salt cannot fail");
    PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).expect("constant params encode"),
        salt: Some(salt_b64.as_salt()),
        hash: Some(output),
    }
    .to_string()
}

/// Recomputes with the algorithm, version, parameters and salt stored in `hash`;
/// `Output`'s comparison is constant-time.
fn verify_blocking(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let algorithm = Algorithm::try_from(parsed.algorithm);
    let version = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from);
    let (Ok(algorithm), Ok(version), Ok(params)) = (algorithm, version, Params::try_from(&parsed))
    else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    Output::init_with(expected.len(), |out| {
        compute(algorithm, version, params, password.as_bytes(), salt, out).map_err(Into::into)
    })
    .is_ok_and(|computed| computed == expected)
}

impl Passwords {
    pub fn new() -> Self {
        let concurrency = std::thread::available_parallelism().map_or(2, |n| n.get());
        Passwords {
            permits: Arc::new(Semaphore::new(concurrency)),
            dummy_hash: hash_blocking("not a real password, only for timing").into(),
        }
    }

    pub async fn hash(&self, password: String) -> String {
        self.run(move || hash_blocking(&password)).await
    }

    /// `hash` is `None` for an unknown user: the dummy hash is checked instead and the
    /// answer is always false, after the same amount of work.
    pub async fn verify(&self, password: String, hash: Option<String>) -> bool {
        let dummy = self.dummy_hash.clone();
        self.run(move || match hash {
            Some(hash) => verify_blocking(&password, &hash),
            None => {
                verify_blocking(&password, &dummy);
                false
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> T {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        tokio::task::spawn_blocking(job)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }
}

impl Default for Passwords {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let pw = Passwords::new();
        let hash = pw.hash("correct horse".into()).await;
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(pw.verify("correct horse".into(), Some(hash.clone())).await);
        assert!(!pw.verify("wrong horse".into(), Some(hash)).await);
        assert!(!pw.verify("correct horse".into(), None).await);
        assert!(!pw.verify("x".into(), Some("not a hash".into())).await);
    }

    /// Hashes stored by earlier versions (the argon2 crate's own PasswordHasher) still
    /// verify, and the crate verifies ours: same PHC string, same output.
    #[test]
    fn interoperates_with_the_argon2_crates_own_hasher() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let crate_hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params());
        let salt = SaltString::encode_b64(b"0123456789abcdef").unwrap();
        let theirs = crate_hasher
            .hash_password(b"correct horse", &salt)
            .unwrap()
            .to_string();
        assert!(verify_blocking("correct horse", &theirs));
        assert!(!verify_blocking("wrong horse", &theirs));
        let ours = hash_blocking("correct horse");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(crate_hasher
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(crate_hasher.verify_password(b"wrong", &parsed).is_err());
        // Other parameters (an older or future setting) verify by what the hash says.
        let light = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        )
        .hash_password(b"pw", &salt)
        .unwrap()
        .to_string();
        assert!(verify_blocking("pw", &light));
        assert!(!verify_blocking("pw2", &light));
    }
}
