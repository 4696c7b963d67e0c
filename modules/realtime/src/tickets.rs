//! Stream tickets for browsers: `EventSource` cannot send an `Authorization` header, so
//! an authenticated client trades its token for a ticket (`POST /realtime/tickets`) and
//! opens the stream with `?ticket=`. A ticket is single-use (`StandIns::redeem`), valid
//! for [`TTL`], held as its digest only (auth's `StandIns`); it stands for the token it
//! was issued for, so the stream it opens ends when that token expires or is revoked,
//! as the token's own stream would.

use auth::StandIns;
use std::time::Duration;

pub const TTL: Duration = Duration::from_secs(30);
/// Unused tickets one user may hold at once.
const PER_USER: usize = 16;

pub fn tickets() -> StandIns {
    StandIns::new(TTL, PER_USER)
}
