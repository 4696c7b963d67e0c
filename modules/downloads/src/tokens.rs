//! File tokens: an `<img src>` or a download link cannot send `Authorization`, so an
//! authenticated client trades its bearer token for a file token (`POST /files/token`)
//! and puts it in the URL as `?token=`. A file token is valid for [`TTL`], may be used
//! any number of times in that window (`StandIns::resolve`: a page of thumbnails uses
//! one), and is held as its digest only (auth's `StandIns`, as realtime's single-use
//! tickets). The bearer token it stands for is authenticated again at every use:
//! revoking that token, or its expiry, ends the file token too.

use auth::StandIns;
use std::time::Duration;

pub const TTL: Duration = Duration::from_secs(120);
/// Live tokens one user may hold at once.
const PER_USER: usize = 32;

pub fn file_tokens() -> StandIns {
    StandIns::new(TTL, PER_USER)
}
