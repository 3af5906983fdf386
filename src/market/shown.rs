//! Text from outside (a file's cell, a provider's error, a user's argument) made safe to show in
//! an error line: control characters and bytes that are not UTF-8 are escaped, so no terminal
//! escape sequence or line break from a bad file reaches the screen, and long text is cut.

/// Characters shown of a piece of outside text, escapes included, before it is cut with "…".
pub const MAX_SHOWN_CHARS: usize = 120;

/// `bytes` as printable text: valid UTF-8 is kept except control characters, which become
/// `\u{1b}`-style escapes; invalid bytes become `\xNN`. Cut with "…" where the shown text
/// would pass [`MAX_SHOWN_CHARS`] (an escape counts at its printed length, so a file of NUL
/// bytes is cut as soon as one of plain letters is).
pub fn shown_bytes(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut chars = 0;
    let mut push = |piece: &str, width: usize, out: &mut String| {
        if chars + width > MAX_SHOWN_CHARS {
            out.push('…');
            return false;
        }
        out.push_str(piece);
        chars += width;
        true
    };
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            let kept = if c.is_control() {
                let escape = format!("\\u{{{:x}}}", u32::from(c));
                push(&escape, escape.len(), &mut out)
            } else {
                push(c.encode_utf8(&mut [0; 4]), 1, &mut out)
            };
            if !kept {
                return out;
            }
        }
        for byte in chunk.invalid() {
            if !push(&format!("\\x{byte:02x}"), 4, &mut out) {
                return out;
            }
        }
    }
    out
}

/// [`shown_bytes`] for text that is already a string.
pub fn shown(text: &str) -> String {
    shown_bytes(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_and_bad_bytes_are_escaped() {
        assert_eq!(shown_bytes(b"\x1b[31mred"), "\\u{1b}[31mred");
        assert_eq!(shown_bytes(b"a\r\nb"), "a\\u{d}\\u{a}b");
        assert_eq!(shown_bytes(b"caf\xe9"), "caf\\xe9");
        assert_eq!(shown("2 467,70 €"), "2 467,70 €");
    }

    #[test]
    fn long_text_is_cut_at_120_characters() {
        let long = "x".repeat(1_000_000);
        let text = shown(&long);
        assert_eq!(text.chars().count(), MAX_SHOWN_CHARS + 1);
        assert!(text.ends_with("x…"), "{text}");
        assert_eq!(
            shown(&"y".repeat(120)),
            "y".repeat(120),
            "exactly 120 is not cut"
        );
    }

    #[test]
    fn escapes_count_at_their_printed_length() {
        let text = shown_bytes(&[0u8; 1000]);
        // Each NUL prints as `\u{0}` (5 characters): 24 of them fill 120.
        assert_eq!(text, format!("{}…", "\\u{0}".repeat(24)));
        assert!(shown_bytes(&[0xff; 1000]).chars().count() <= MAX_SHOWN_CHARS + 1);
    }
}
