//! Decimal arithmetic on `f64` that is exact where it is used: scaling by a power of ten that
//! an `f64` holds exactly, and reading plain decimals (`167.440002`) without the general parser.
//!
//! Both rest on one fact: when `m` and `10^k` are exact `f64`s (m < 2^53, k ≤ 22), `m / 10^k`
//! and `m × 10^k` are rounded once, correctly, so they equal the correctly rounded value of the
//! decimal `m·10^∓k` — what `str::parse::<f64>` returns for its text. (This is the "fast path"
//! of every correct float parser.) The price histories are hundreds of thousands of such cells.

/// Powers of ten that an `f64` holds exactly (10^22 is the last).
const EXACT_POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The largest integer up to which every integer is an exact `f64`.
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// `value × 10^shift`, rounded once; `None` when `|shift| > 22` (10^shift is not exact).
pub(crate) fn scale_pow10(value: f64, shift: i32) -> Option<f64> {
    let power = EXACT_POWERS_OF_TEN.get(shift.unsigned_abs() as usize)?;
    Some(if shift >= 0 {
        value * power
    } else {
        value / power
    })
}

/// The value of a plain decimal — an optional `-`, ASCII digits with at most one `.`, at least
/// one digit, at most 19 — whose digits make an integer of at most 2^53 and which has at most
/// 22 decimals:
/// exactly what `str::parse::<f64>` gives for it. `None` for any other text (exponents, `+`,
/// more digits, `NaN`, garbage), which the caller hands to the full parser.
pub(crate) fn parse_plain_decimal(text: &[u8]) -> Option<f64> {
    match plain_decimal_prefix(text)? {
        (value, len) if len == text.len() => Some(value),
        _ => None,
    }
}

/// The plain decimal at the start of `text` (as [`parse_plain_decimal`] reads it) and how many
/// bytes it takes; whatever follows is the caller's business.
///
/// A history holds millions of these cells, nearly all unsigned with at most 15 digits and
/// eight bytes to spare after each run of digits (the rest of the row): those are read by
/// [`short_prefix`] in a few word operations; the others by [`any_prefix`], the definition.
#[inline(always)]
pub(crate) fn plain_decimal_prefix(text: &[u8]) -> Option<(f64, usize)> {
    match short_prefix(text) {
        Some(found) => Some(found),
        None => any_prefix(text),
    }
}

/// The eight bytes of `text` from `at` on, read little-endian; `None` when fewer remain.
#[inline(always)]
fn word_at(text: &[u8], at: usize) -> Option<u64> {
    let chunk = text.get(at..)?.first_chunk::<8>()?;
    Some(u64::from_le_bytes(*chunk))
}

/// [`any_prefix`] for an unsigned decimal of at most 15 digits (so its digits make an integer
/// below 10^15 < 2^53, and the value is that integer divided by an exact power of ten, rounded
/// once: what `any_prefix`, and `str::parse`, give) whose runs of digits are each followed by
/// eight readable bytes. `None` for anything else: a sign, 16 or more digits, no whole digit
/// (`.5`), or too near the end of `text`.
#[inline(always)]
fn short_prefix(text: &[u8]) -> Option<(f64, usize)> {
    let (count, mut whole) = leading_digits(word_at(text, 0)?);
    let mut end = count;
    if count == 0 {
        return None;
    }
    if count == 8 {
        let (more, value) = leading_digits(word_at(text, 8)?);
        if more == 8 {
            return None;
        }
        whole = whole * POWERS_OF_TEN[more] + value;
        end += more;
    }
    if text.get(end) != Some(&b'.') {
        // At most 15 digits: an exact f64 (converted as signed, one instruction on x86-64).
        return Some((whole as i64 as f64, end));
    }
    let (decimals, fraction) = leading_digits(word_at(text, end + 1)?);
    // Eight digits may go on; more than 15 in all may not be exact.
    if decimals == 8 || end + decimals > 15 {
        return None;
    }
    let mantissa = whole * POWERS_OF_TEN[decimals] + fraction;
    // Both exact (mantissa < 10^15, decimals < 8): one correctly rounded division.
    let value = mantissa as i64 as f64 / EXACT_POWERS_OF_TEN[decimals];
    Some((value, end + 1 + decimals))
}

/// [`plain_decimal_prefix`] for any text: the definition.
#[cold]
#[inline(never)]
fn any_prefix(text: &[u8]) -> Option<(f64, usize)> {
    let negative = text.first() == Some(&b'-');
    let start = usize::from(negative);
    let (mantissa, whole_end) = digits(text, start, 0);
    let (mantissa, end) = match text.get(whole_end) {
        Some(b'.') => digits(text, whole_end + 1, mantissa),
        _ => (mantissa, whole_end),
    };
    let decimals = end.saturating_sub(whole_end + 1);
    let count = (whole_end - start) + decimals;
    // Up to 19 digits cannot wrap the u64 (10^19 < 2^64).
    if count == 0 || count > 19 || mantissa > MAX_EXACT_INTEGER {
        return None;
    }
    // The mantissa is at most 2^53, so converting it is exact (and so is a whole number).
    let value = match decimals {
        0 => mantissa as f64,
        _ => scale_pow10(mantissa as f64, -i32::try_from(decimals).ok()?)?,
    };
    Some((if negative { -value } else { value }, end))
}

/// Appends the ASCII digits of `text` from `from` on to `mantissa`; returns it and where the
/// digits end. More than 19 digits in all may wrap the mantissa: callers refuse those.
///
/// Eight bytes are looked at together ([`leading_digits`]) while eight remain; the last few
/// one by one.
fn digits(text: &[u8], from: usize, mut mantissa: u64) -> (u64, usize) {
    let mut end = from;
    while let Some(&chunk) = text.get(end..).and_then(|rest| rest.first_chunk::<8>()) {
        let (count, value) = leading_digits(u64::from_le_bytes(chunk));
        mantissa = mantissa
            .wrapping_mul(POWERS_OF_TEN[count])
            .wrapping_add(value);
        end += count;
        if count < 8 {
            return (mantissa, end);
        }
    }
    while let Some(&byte) = text.get(end) {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            break;
        }
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
        end += 1;
    }
    (mantissa, end)
}

/// 10^0 to 10^8, for appending up to eight digits to a mantissa.
const POWERS_OF_TEN: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// Eight bytes read little-endian (the first byte lowest): how many of them, from the first,
/// are ASCII digits, and the number those digits make.
#[inline(always)]
fn leading_digits(word: u64) -> (usize, u64) {
    const ZEROS: u64 = u64::from_ne_bytes([b'0'; 8]);
    const SIXES: u64 = u64::from_ne_bytes([6; 8]);
    const HIGH_NIBBLES: u64 = u64::from_ne_bytes([0xF0; 8]);
    // A digit byte becomes 0..=9, and 9 + 6 stays below 16: its high nibble stays clear in both
    // terms. Any other byte sets a high nibble in one of them. A byte below `0` borrows from the
    // bytes after it, which only spoils bytes after the first non-digit: those are not counted.
    let values = word.wrapping_sub(ZEROS);
    let not_digits = (values | values.wrapping_add(SIXES)) & HIGH_NIBBLES;
    let count = (not_digits.trailing_zeros() / 8) as usize;
    if count == 0 {
        return (0, 0);
    }
    // Move the `count` digits to the top bytes (the bytes below become leading zeros), then add
    // neighbours in pairs: 2 digits per 16 bits, 4 per 32, 8 per 64.
    let mut v = values << (8 * (8 - count));
    v = (v.wrapping_mul(10).wrapping_add(v >> 8)) & 0x00FF_00FF_00FF_00FF;
    v = (v.wrapping_mul(100).wrapping_add(v >> 16)) & 0x0000_FFFF_0000_FFFF;
    v = (v.wrapping_mul(10_000).wrapping_add(v >> 32)) & 0xFFFF_FFFF;
    (count, v)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What the general parser says, for comparison bit by bit.
    fn parsed(text: &str) -> Option<u64> {
        text.parse::<f64>().ok().map(f64::to_bits)
    }

    #[test]
    fn plain_decimals_read_as_the_general_parser_reads_them() {
        for text in [
            "167.440002",
            "2467.699951",
            "0.081234",
            "179800000",
            "5292400000",
            "0",
            "-0",
            "0.0",
            "-12.5",
            "1.",
            ".5",
            "9007199254740992",
            ".0000000000000000001",
        ] {
            assert_eq!(
                parse_plain_decimal(text.as_bytes()).map(f64::to_bits),
                parsed(text),
                "{text}"
            );
        }
    }

    #[test]
    fn anything_else_is_left_to_the_general_parser() {
        for text in [
            "",
            "-",
            ".",
            "1e5",
            "+5",
            "1.2.3",
            "NaN",
            "inf",
            " 1",
            "1,5",
            "0x10",
            // More than 2^53, more than 19 digits, more than 22 decimals.
            "9007199254740993",
            "123456789012345678",
            "12345678901234567890",
            "0.00000000000000000000001",
        ] {
            assert_eq!(parse_plain_decimal(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn a_prefix_stops_where_the_number_does() {
        assert_eq!(
            plain_decimal_prefix(b"167.440002,168.9"),
            Some((167.440002, 10))
        );
        assert_eq!(plain_decimal_prefix(b"-3.5\n"), Some((-3.5, 4)));
        assert_eq!(plain_decimal_prefix(b"12.,"), Some((12.0, 3)));
        assert_eq!(plain_decimal_prefix(b"1.2.3"), Some((1.2, 3)));
        assert_eq!(plain_decimal_prefix(b",5"), None);
        assert_eq!(plain_decimal_prefix(b"-,5"), None);
        assert_eq!(plain_decimal_prefix(b".,5"), None);
    }

    #[test]
    fn scaling_by_an_exact_power_of_ten_rounds_once() {
        assert_eq!(scale_pow10(2467699951.0, -6), Some(2467.699951));
        assert_eq!(scale_pow10(1.5, 22), Some(1.5e22));
        assert_eq!(scale_pow10(1.5, 23), None);
        assert_eq!(scale_pow10(1.5, -23), None);
    }

    /// The digit reader's definition: one byte at a time.
    fn digits_one_by_one(text: &[u8], from: usize) -> (u64, usize) {
        let mut end = from;
        let mut mantissa = 0u64;
        while let Some(digit) = text.get(end).and_then(|b| (*b as char).to_digit(10)) {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
            end += 1;
        }
        (mantissa, end)
    }

    #[test]
    fn eight_bytes_at_a_time_read_every_run_of_digits_as_one_at_a_time() {
        for text in [
            &b"12345678"[..],
            b"123456789",
            b"1234567/",
            b"1234567:",
            b"0000000000000000",
            b"99999999999999999999",
            b"1\x00\x00\x00\x00\x00\x00\x00",
            b"12.45678,",
            b"/2345678",
            b"",
        ] {
            for from in 0..text.len().max(1) {
                assert_eq!(
                    digits(text, from, 0),
                    digits_one_by_one(text, from),
                    "{text:?} {from}"
                );
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// Digits and the bytes next to them (`/` and `:` border the digits; low bytes borrow).
        #[test]
        fn digits_read_as_one_at_a_time(
            text in proptest::collection::vec(
                prop_oneof![
                    6 => b'0'..=b'9',
                    1 => prop::sample::select(vec![b'/', b':', b'.', b',', 0, 0x29, 0x3A, 0x40, 0xFF, 0xB0]),
                    1 => any::<u8>(),
                ],
                0..40,
            ),
            from in 0usize..8,
        ) {
            let from = from.min(text.len());
            prop_assert_eq!(digits(&text, from, 0), digits_one_by_one(&text, from), "{:?}", text);
        }

        /// Up to 15 digits: always below 2^53, so always read here.
        #[test]
        fn a_price_reads_as_the_general_parser_reads_it(
            negative in any::<bool>(),
            whole in 0u64..1_000_000_000,
            fraction in 0u64..1_000_000,
            decimals in 0usize..=6,
        ) {
            let sign = if negative { "-" } else { "" };
            let fraction = format!("{fraction:06}");
            let text = format!("{sign}{whole}.{}", &fraction[..decimals]);
            prop_assert_eq!(parse_plain_decimal(text.as_bytes()).map(f64::to_bits), parsed(&text), "{}", text);
        }

        /// A price as it sits in a row (more cells after it, so the word reader takes it):
        /// the value `str::parse` gives for its text, and its length.
        #[test]
        fn a_price_in_a_row_reads_as_the_general_parser_reads_it(
            whole in prop_oneof![0u64..1_000, 0u64..1_000_000_000, 0u64..1_000_000_000_000_000],
            fraction in 0u64..u64::MAX,
            decimals in 0usize..=12,
            dot in any::<bool>(),
            rest in prop::sample::select(vec![",12345678,9\n", "\n1985-01-03,1", ",,,,,,,,,", "123456789"]),
        ) {
            let fraction = format!("{fraction:020}");
            let number = if dot {
                format!("{whole}.{}", &fraction[..decimals])
            } else {
                whole.to_string()
            };
            let text = format!("{number}{rest}");
            let read = plain_decimal_prefix(text.as_bytes());
            prop_assert_eq!(read.map(|(v, len)| (v.to_bits(), len)), any_prefix(text.as_bytes()).map(|(v, len)| (v.to_bits(), len)), "{}", text);
            if let Some((value, len)) = read {
                prop_assert_eq!(Some(value.to_bits()), parsed(&text[..len]), "{}", text);
            }
        }

        /// Any bytes: the word reader and the definition agree, bit for bit and in length.
        #[test]
        fn the_word_reader_agrees_with_the_definition(
            text in proptest::collection::vec(
                prop_oneof![
                    8 => b'0'..=b'9',
                    2 => Just(b'.'),
                    1 => prop::sample::select(vec![b'-', b',', b'/', b':', b'\n', 0, 0xFF, b'e']),
                ],
                0..40,
            ),
        ) {
            prop_assert_eq!(
                plain_decimal_prefix(&text).map(|(v, len)| (v.to_bits(), len)),
                any_prefix(&text).map(|(v, len)| (v.to_bits(), len)),
                "{:?}", String::from_utf8_lossy(&text)
            );
        }

        /// Longer numbers may be left to the general parser, but what is read agrees with it.
        #[test]
        fn what_is_read_agrees_with_the_general_parser(
            whole in 0u64..u64::MAX,
            fraction in 0u64..u64::MAX,
            leading_zeros in 0usize..25,
        ) {
            let text = format!("{whole}.{}{fraction}", "0".repeat(leading_zeros));
            if let Some(value) = parse_plain_decimal(text.as_bytes()) {
                prop_assert_eq!(Some(value.to_bits()), parsed(&text), "{}", text);
            }
        }
    }
}
