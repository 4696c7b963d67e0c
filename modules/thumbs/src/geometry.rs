//! Where a thumbnail comes from in the source and how big it comes out: pure integer
//! arithmetic, kept apart from decoding so that it can be checked exhaustively.
//!
//! Sizes follow PocketBase (`disintegration/imaging` as called by its `CreateThumb`):
//! a crop (`Fill`) and a keep-ratio resize (`Resize` with one side 0) always produce the
//! requested size, enlarging a smaller source; a fit (`Fit`) never enlarges, a source
//! already inside the box keeps its own size. The free side of a keep-ratio or fit
//! thumbnail is rounded to the nearest pixel and is at least 1, as imaging's `Resize`.

use crate::spec::{ThumbMode, ThumbSpec};

/// The part of the (oriented) source that is scaled, and the output size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    pub(crate) x: u32,
    pub(crate) y: u32,
    pub(crate) crop_width: u32,
    pub(crate) crop_height: u32,
    /// Output size. u64: the free side of an extreme ratio can pass u32 before the caller
    /// refuses it.
    pub(crate) width: u64,
    pub(crate) height: u64,
}

/// `numerator / denominator` rounded half up; `denominator` is never 0 here.
fn div_round(numerator: u64, denominator: u64) -> u64 {
    (numerator + denominator / 2) / denominator
}

/// The plan for a `source_width` × `source_height` source (both ≥ 1).
pub(crate) fn plan(source_width: u32, source_height: u32, spec: ThumbSpec) -> Plan {
    let (sw, sh) = (u64::from(source_width), u64::from(source_height));
    let (w, h) = (u64::from(spec.width()), u64::from(spec.height()));
    let whole = |width: u64, height: u64| Plan {
        x: 0,
        y: 0,
        crop_width: source_width,
        crop_height: source_height,
        width: width.max(1),
        height: height.max(1),
    };
    match spec.mode() {
        ThumbMode::KeepRatio if h == 0 => whole(w, div_round(sh * w, sw)),
        ThumbMode::KeepRatio => whole(div_round(sw * h, sh), h),
        ThumbMode::Fit if sw <= w && sh <= h => whole(sw, sh),
        // Compare the ratios sw/sh and w/h by cross-multiplying: the wider one binds.
        ThumbMode::Fit if sw * h > sh * w => whole(w, div_round(sh * w, sw)),
        ThumbMode::Fit => whole(div_round(sw * h, sh), h),
        ThumbMode::Crop => {
            // The largest w:h window inside the source, centred. Its sides are at most
            // the source's, so they fit in u32.
            let (crop_width, crop_height) = if sw * h > sh * w {
                (div_round(sh * w, h).clamp(1, sw), sh)
            } else {
                (sw, div_round(sw * h, w).clamp(1, sh))
            };
            Plan {
                x: ((sw - crop_width) / 2) as u32,
                y: ((sh - crop_height) / 2) as u32,
                crop_width: crop_width as u32,
                crop_height: crop_height as u32,
                width: w,
                height: h,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::MAX_SIDE;
    use proptest::prelude::*;

    fn spec(text: &str) -> ThumbSpec {
        text.parse().unwrap()
    }

    #[test]
    fn crop_takes_the_centred_window() {
        let p = plan(1600, 1200, spec("100x100"));
        assert_eq!(
            (p.x, p.y, p.crop_width, p.crop_height),
            (200, 0, 1200, 1200)
        );
        assert_eq!((p.width, p.height), (100, 100));
        let p = plan(1200, 1600, spec("300x100"));
        assert_eq!((p.x, p.y, p.crop_width, p.crop_height), (0, 600, 1200, 400));
    }

    #[test]
    fn crop_and_keep_ratio_enlarge_like_pocketbase_but_fit_does_not() {
        assert_eq!(plan(10, 5, spec("100x100")).width, 100);
        let p = plan(10, 5, spec("40x0"));
        assert_eq!((p.width, p.height), (40, 20));
        let p = plan(10, 5, spec("100x100f"));
        assert_eq!((p.width, p.height), (10, 5));
    }

    #[test]
    fn keep_ratio_rounds_and_never_reaches_zero() {
        let p = plan(1600, 1200, spec("400x0"));
        assert_eq!((p.width, p.height), (400, 300));
        let p = plan(3, 2, spec("0x3"));
        assert_eq!((p.width, p.height), (5, 3)); // 4.5 rounds up
        let p = plan(10_000, 1, spec("10x0"));
        assert_eq!((p.width, p.height), (10, 1));
    }

    #[test]
    fn fit_binds_on_the_wider_ratio() {
        let p = plan(1600, 1200, spec("200x200f"));
        assert_eq!((p.width, p.height), (200, 150));
        let p = plan(1200, 1600, spec("200x200f"));
        assert_eq!((p.width, p.height), (150, 200));
    }

    proptest! {
        #[test]
        fn crop_window_is_inside_the_source_and_has_the_ratio(
            sw in 1u32..20_000, sh in 1u32..20_000, w in 1..=MAX_SIDE, h in 1..=MAX_SIDE,
        ) {
            let p = plan(sw, sh, ThumbSpec::crop(w, h).unwrap());
            prop_assert_eq!((p.width, p.height), (u64::from(w), u64::from(h)));
            prop_assert!(p.crop_width >= 1 && p.crop_height >= 1);
            prop_assert!(p.x + p.crop_width <= sw && p.y + p.crop_height <= sh);
            // One side is the source's whole side; the window is centred on the other.
            prop_assert!(p.crop_width == sw || p.crop_height == sh);
            prop_assert!((sw - p.crop_width) - 2 * p.x <= 1);
            prop_assert!((sh - p.crop_height) - 2 * p.y <= 1);
            // The window's ratio is w:h up to the rounding of one side.
            let (cw, ch) = (u64::from(p.crop_width), u64::from(p.crop_height));
            let err = (cw * u64::from(h)).abs_diff(ch * u64::from(w));
            prop_assert!(err <= u64::from(w.max(h)), "{cw}x{ch} for {w}x{h}");
        }

        #[test]
        fn fit_stays_in_the_box_and_never_enlarges(
            sw in 1u32..20_000, sh in 1u32..20_000, w in 1..=MAX_SIDE, h in 1..=MAX_SIDE,
        ) {
            let p = plan(sw, sh, ThumbSpec::fit(w, h).unwrap());
            prop_assert!(p.width >= 1 && p.height >= 1);
            prop_assert!(p.width <= u64::from(w) && p.height <= u64::from(h));
            prop_assert!(p.width <= u64::from(sw) && p.height <= u64::from(sh));
            // One side touches the box, unless the source was already inside it.
            let inside = sw <= w && sh <= h;
            prop_assert!(inside || p.width == u64::from(w) || p.height == u64::from(h));
            prop_assert_eq!((p.crop_width, p.crop_height), (sw, sh));
        }

        #[test]
        fn keep_ratio_fixes_one_side_and_rounds_the_other(
            sw in 1u32..20_000, sh in 1u32..20_000, side in 1..=MAX_SIDE,
        ) {
            let p = plan(sw, sh, ThumbSpec::width_only(side).unwrap());
            prop_assert_eq!(p.width, u64::from(side));
            let exact = f64::from(sh) * f64::from(side) / f64::from(sw);
            prop_assert!((p.height as f64 - exact.max(1.0)).abs() <= 0.5 + 1e-9);
            let p = plan(sw, sh, ThumbSpec::height_only(side).unwrap());
            prop_assert_eq!(p.height, u64::from(side));
            let exact = f64::from(sw) * f64::from(side) / f64::from(sh);
            prop_assert!((p.width as f64 - exact.max(1.0)).abs() <= 0.5 + 1e-9);
        }
    }
}
