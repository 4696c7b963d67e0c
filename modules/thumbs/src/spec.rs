//! Thumbnail sizes as they appear in `?thumb=` and in a file field's `thumbs` option.
//!
//! The grammar is PocketBase's (`tools/filesystem`: `^(\d+)x(\d+)(t|b|f)?$`) narrowed to
//! the forms Hearth serves, and made canonical: `WxH` (cover WxH, then crop the overflow
//! around the centre), `WxHf` (fit inside WxH), `Wx0` and `0xH` (one side fixed, the
//! other from the aspect ratio). Numbers are plain ASCII decimals without sign or leading
//! zero, so each size has exactly one spelling: comparing the strings listed on a field
//! with the requested one is the same as comparing the parsed specs, and `Display` gives
//! back the text that was parsed (it is also the thumbnail's cache key).

use std::fmt;
use std::str::FromStr;

/// The largest width or height a spec may ask for. Bigger "thumbnails" are not
/// thumbnails, and the bound keeps a crop's output (at most 4096 × 4096 = 16.7 Mpx)
/// below the default pixel limit.
pub const MAX_SIDE: u32 = 4096;

/// How the source is brought to the requested size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ThumbMode {
    /// `WxH`: scale to cover WxH, crop what overflows, centred. Output is exactly WxH.
    Crop,
    /// `WxHf`: scale to fit inside WxH keeping the ratio; never enlarged.
    Fit,
    /// `Wx0` / `0xH`: the non-zero side is exact, the other follows the ratio.
    KeepRatio,
}

/// A parsed, valid thumbnail size. Build one with [`str::parse`] or the constructors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ThumbSpec {
    width: u32,
    height: u32,
    mode: ThumbMode,
}

/// Why a thumbnail size was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("thumb size is empty")]
    Empty,
    #[error("thumb size must look like WxH, WxHf, Wx0 or 0xH")]
    Malformed,
    #[error("thumb size numbers are plain decimal digits")]
    NotANumber,
    #[error("thumb size numbers have no leading zeros")]
    LeadingZero,
    #[error("thumb width and height cannot both be zero")]
    BothZero,
    #[error("a fit thumb (WxHf) needs both a width and a height")]
    FitNeedsBothSides,
    #[error("thumb width and height are at most {MAX_SIDE} pixels")]
    TooLarge,
}

impl ThumbSpec {
    /// `WxH`: exactly `width` × `height`, cropped around the centre.
    pub fn crop(width: u32, height: u32) -> Result<Self, SpecError> {
        Self::checked(width, height, ThumbMode::Crop)
    }

    /// `WxHf`: inside `width` × `height`, ratio kept.
    pub fn fit(width: u32, height: u32) -> Result<Self, SpecError> {
        Self::checked(width, height, ThumbMode::Fit)
    }

    /// `Wx0`: `width` wide, height from the ratio.
    pub fn width_only(width: u32) -> Result<Self, SpecError> {
        Self::checked(width, 0, ThumbMode::KeepRatio)
    }

    /// `0xH`: `height` high, width from the ratio.
    pub fn height_only(height: u32) -> Result<Self, SpecError> {
        Self::checked(0, height, ThumbMode::KeepRatio)
    }

    /// The requested width; 0 means "from the ratio" (only in [`ThumbMode::KeepRatio`]).
    pub fn width(&self) -> u32 {
        self.width
    }

    /// The requested height; 0 means "from the ratio" (only in [`ThumbMode::KeepRatio`]).
    pub fn height(&self) -> u32 {
        self.height
    }

    pub fn mode(&self) -> ThumbMode {
        self.mode
    }

    fn checked(width: u32, height: u32, mode: ThumbMode) -> Result<Self, SpecError> {
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(SpecError::TooLarge);
        }
        let zeros = (width == 0, height == 0);
        let mode = match (mode, zeros) {
            (_, (true, true)) => return Err(SpecError::BothZero),
            (ThumbMode::Fit, (true, _) | (_, true)) => return Err(SpecError::FitNeedsBothSides),
            // `100x0` without a suffix is PocketBase's keep-ratio form, whatever the caller
            // called it; a crop with a zero side has no other meaning.
            (ThumbMode::Crop | ThumbMode::KeepRatio, (true, _) | (_, true)) => ThumbMode::KeepRatio,
            (ThumbMode::KeepRatio, (false, false)) => return Err(SpecError::Malformed),
            (mode, (false, false)) => mode,
        };
        Ok(ThumbSpec {
            width,
            height,
            mode,
        })
    }
}

/// One side's number: ASCII digits only (no sign, no spaces, no Unicode digits), no
/// leading zero except `0` itself, and at most [`MAX_SIDE`].
fn parse_side(text: &str) -> Result<u32, SpecError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SpecError::NotANumber);
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(SpecError::LeadingZero);
    }
    // Five digits or more are above MAX_SIDE; checking the length first keeps huge
    // inputs from overflowing the parse.
    if text.len() > 4 {
        return Err(SpecError::TooLarge);
    }
    text.parse::<u32>().map_err(|_| SpecError::NotANumber)
}

impl FromStr for ThumbSpec {
    type Err = SpecError;

    fn from_str(text: &str) -> Result<Self, SpecError> {
        if text.is_empty() {
            return Err(SpecError::Empty);
        }
        let (sizes, fit) = match text.strip_suffix('f') {
            Some(rest) => (rest, true),
            None => (text, false),
        };
        let (width, height) = sizes.split_once('x').ok_or(SpecError::Malformed)?;
        let (width, height) = (parse_side(width)?, parse_side(height)?);
        if fit {
            ThumbSpec::fit(width, height)
        } else {
            ThumbSpec::crop(width, height)
        }
    }
}

impl fmt::Display for ThumbSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = if self.mode == ThumbMode::Fit { "f" } else { "" };
        write!(f, "{}x{}{}", self.width, self.height, suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_form_parses_to_its_mode() {
        let crop: ThumbSpec = "100x50".parse().unwrap();
        assert_eq!(
            (crop.width(), crop.height(), crop.mode()),
            (100, 50, ThumbMode::Crop)
        );
        let fit: ThumbSpec = "100x50f".parse().unwrap();
        assert_eq!(
            (fit.width(), fit.height(), fit.mode()),
            (100, 50, ThumbMode::Fit)
        );
        let wide: ThumbSpec = "400x0".parse().unwrap();
        assert_eq!(
            (wide.width(), wide.height(), wide.mode()),
            (400, 0, ThumbMode::KeepRatio)
        );
        let tall: ThumbSpec = "0x300".parse().unwrap();
        assert_eq!(
            (tall.width(), tall.height(), tall.mode()),
            (0, 300, ThumbMode::KeepRatio)
        );
        assert_eq!("4096x4096".parse::<ThumbSpec>().unwrap().width(), MAX_SIDE);
    }

    #[test]
    fn bad_sizes_name_their_fault() {
        let cases = [
            ("", SpecError::Empty),
            ("100", SpecError::Malformed),
            ("100y100", SpecError::Malformed),
            ("100X100", SpecError::Malformed),
            ("f", SpecError::Malformed),
            ("x", SpecError::NotANumber),
            ("100x", SpecError::NotANumber),
            ("x100", SpecError::NotANumber),
            ("100x100x100", SpecError::NotANumber),
            ("+100x100", SpecError::NotANumber),
            ("-1x100", SpecError::NotANumber),
            (" 100x100", SpecError::NotANumber),
            ("100x100 ", SpecError::NotANumber),
            ("100x100t", SpecError::NotANumber),
            ("100x100ff", SpecError::NotANumber),
            ("100x100F", SpecError::NotANumber),
            ("١٠٠x100", SpecError::NotANumber),
            ("0100x100", SpecError::LeadingZero),
            ("100x00", SpecError::LeadingZero),
            ("0x0", SpecError::BothZero),
            ("0x0f", SpecError::BothZero),
            ("0x100f", SpecError::FitNeedsBothSides),
            ("100x0f", SpecError::FitNeedsBothSides),
            ("4097x1", SpecError::TooLarge),
            ("1x99999", SpecError::TooLarge),
            ("99999999999999999999999x1", SpecError::TooLarge),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<ThumbSpec>(), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn constructors_check_like_the_parser() {
        assert_eq!(ThumbSpec::crop(0, 0), Err(SpecError::BothZero));
        assert_eq!(ThumbSpec::fit(0, 10), Err(SpecError::FitNeedsBothSides));
        assert_eq!(
            ThumbSpec::width_only(MAX_SIDE + 1),
            Err(SpecError::TooLarge)
        );
        assert_eq!(ThumbSpec::height_only(0), Err(SpecError::BothZero));
        assert_eq!(ThumbSpec::crop(10, 0).unwrap().mode(), ThumbMode::KeepRatio);
        assert_eq!(ThumbSpec::width_only(7).unwrap().to_string(), "7x0");
    }

    fn any_spec() -> impl Strategy<Value = ThumbSpec> {
        let side = 1..=MAX_SIDE;
        prop_oneof![
            (side.clone(), side.clone()).prop_map(|(w, h)| ThumbSpec::crop(w, h).unwrap()),
            (side.clone(), side.clone()).prop_map(|(w, h)| ThumbSpec::fit(w, h).unwrap()),
            side.clone().prop_map(|w| ThumbSpec::width_only(w).unwrap()),
            side.prop_map(|h| ThumbSpec::height_only(h).unwrap()),
        ]
    }

    proptest! {
        #[test]
        fn display_round_trips(spec in any_spec()) {
            prop_assert_eq!(spec.to_string().parse::<ThumbSpec>(), Ok(spec));
        }

        /// Whatever parses is canonical: printing it gives back the very same text.
        #[test]
        fn accepted_text_is_canonical(text in "[0-9+x f-]{0,12}") {
            if let Ok(spec) = text.parse::<ThumbSpec>() {
                prop_assert_eq!(spec.to_string(), text);
            }
        }

        /// Well-formed numbers are judged as a plain model of the rules says.
        #[test]
        fn numbers_are_judged_by_the_rules(w in 0u32..6000, h in 0u32..6000, fit: bool) {
            let text = format!("{w}x{h}{}", if fit { "f" } else { "" });
            let expected = if w > MAX_SIDE || h > MAX_SIDE {
                Err(SpecError::TooLarge)
            } else if w == 0 && h == 0 {
                Err(SpecError::BothZero)
            } else if fit && (w == 0 || h == 0) {
                Err(SpecError::FitNeedsBothSides)
            } else {
                let mode = match (fit, w == 0 || h == 0) {
                    (true, _) => ThumbMode::Fit,
                    (false, true) => ThumbMode::KeepRatio,
                    (false, false) => ThumbMode::Crop,
                };
                Ok((w, h, mode))
            };
            let parsed = text.parse::<ThumbSpec>().map(|s| (s.width(), s.height(), s.mode()));
            prop_assert_eq!(parsed, expected);
        }

        #[test]
        fn any_accepted_text_is_canonical(text in "\\PC{0,16}") {
            if let Ok(spec) = text.parse::<ThumbSpec>() {
                prop_assert_eq!(spec.to_string(), text);
            }
        }
    }
}
