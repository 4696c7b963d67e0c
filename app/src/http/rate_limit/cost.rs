//! What a slow request costs. A handler whose query ran long marks its response with
//! [`kernel::QueryCost`]; the limiter then takes extra tokens from the caller's bucket
//! after the answer (the next request pays), so a client sending expensive filters runs
//! dry sooner than one sending cheap ones, instead of costing everyone else their reads.

use std::time::Duration;

/// Database time every request gets for its one token.
pub const FREE: Duration = Duration::from_millis(25);

/// Extra tokens for a request that used `cost` of database time: one per [`FREE`] beyond
/// the first, rounded down, and never more than a full bucket (`burst`).
pub fn extra_tokens(cost: Duration, burst: u32) -> u32 {
    let beyond = cost.saturating_sub(FREE);
    let tokens = beyond.as_nanos() / FREE.as_nanos();
    u32::try_from(tokens).unwrap_or(u32::MAX).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_token_per_25_ms_beyond_the_first_capped_at_the_burst() {
        let ms = Duration::from_millis;
        assert_eq!(extra_tokens(Duration::ZERO, 200), 0);
        assert_eq!(extra_tokens(ms(25), 200), 0);
        assert_eq!(extra_tokens(ms(49), 200), 0);
        assert_eq!(extra_tokens(ms(50), 200), 1);
        assert_eq!(extra_tokens(ms(1025), 200), 40);
        assert_eq!(extra_tokens(ms(5_000), 200), 199);
        assert_eq!(extra_tokens(ms(60_000), 200), 200);
        assert_eq!(extra_tokens(Duration::MAX, 3), 3);
    }
}
