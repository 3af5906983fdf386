//! Discord's size limits and the one place text is fitted to them: alert embeds
//! (`payload.rs`) and the bot's command replies both cut here.
//!
//! Its edges:
//! - Lengths are Unicode scalar values (`char`s), as Discord counts them — never bytes — and a
//!   cut never splits a character.
//! - A cut is visible: cut text ends in `…`, and a list that does not fit ends in a line
//!   `… and N more` rather than stopping mid-item. Every cut is logged (`tracing::warn!`).
//! - [`escape_markdown`] makes outside text (a symbol's name, a rule id, a file name) show as
//!   written. Mentions are not this module's business: every body and reply carries an empty
//!   `allowed_mentions`, so `@everyone` in a name is shown and pings no one.
//!
//! Pure: no I/O, no clock.

/// Discord's limits on a message, in characters (Unicode scalar values) unless said otherwise.
///
/// From Discord's "Embed Limits" and "Create Message" documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscordLimits;

impl DiscordLimits {
    /// `content`, the text above the embeds.
    pub const CONTENT: usize = 2000;
    /// Embeds in one message.
    pub const EMBEDS: usize = 10;
    /// An embed's `title`.
    pub const TITLE: usize = 256;
    /// An embed's `description`.
    pub const DESCRIPTION: usize = 4096;
    /// Fields in one embed.
    pub const FIELDS: usize = 25;
    /// A field's `name`.
    pub const FIELD_NAME: usize = 256;
    /// A field's `value`.
    pub const FIELD_VALUE: usize = 1024;
    /// An embed's `footer.text`.
    pub const FOOTER: usize = 2048;
    /// Title, description, field names and values and footer texts of all the embeds of one
    /// message, added up.
    pub const EMBEDS_TOTAL: usize = 6000;
    /// A message `nonce` (Create Message only).
    pub const NONCE: usize = 25;
    /// The largest embed `color` (`0xRRGGBB`).
    pub const COLOR_MAX: u32 = 0xFF_FF_FF;
}

/// What a cut text ends with.
const ELLIPSIS: char = '…';

/// `text` within `limit` characters, warning when it had to be cut.
pub fn truncate(text: &str, limit: usize, what: &'static str) -> String {
    let chars = text.chars().count();
    if chars <= limit {
        return text.to_owned();
    }
    tracing::warn!(
        what,
        chars,
        limit,
        "text longer than Discord allows: cutting it"
    );
    cut(text, limit)
}

/// The first `limit - 1` characters of `text` and an ellipsis: at most `limit` characters, or
/// `text` itself when it is short enough. A cut that would separate a markdown escape from the
/// character it escapes (text ending in an odd run of `\`) drops that backslash too, so the
/// ellipsis is never escaped.
pub fn cut(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text.to_owned();
    }
    if limit == 0 {
        return String::new();
    }
    let mut shortened: String = text.chars().take(limit - 1).collect();
    let backslashes = shortened.len() - shortened.trim_end_matches('\\').len();
    if backslashes % 2 == 1 {
        shortened.pop();
    }
    shortened.push(ELLIPSIS);
    shortened
}

/// The line that stands for `n` lines left out.
fn and_more(n: usize) -> String {
    format!("{ELLIPSIS} and {n} more")
}

/// `lines` joined by newlines within `limit` characters: as many whole lines as fit, then
/// `… and N more` for the rest. A first line too long on its own is cut (with `…`) to leave
/// room for that last line. Logs when anything is left out.
pub fn fit_lines<S: AsRef<str>>(lines: &[S], limit: usize) -> String {
    let count = |s: &str| s.chars().count();
    let total: usize =
        lines.iter().map(|l| count(l.as_ref())).sum::<usize>() + lines.len().saturating_sub(1);
    if total <= limit {
        return lines
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join("\n");
    }
    // Whole lines while the rest's `\n… and N more` still fits after them.
    let mut kept: Vec<String> = Vec::new();
    let mut used = 0;
    for (index, line) in lines.iter().enumerate() {
        let line = line.as_ref();
        let separator = usize::from(index > 0);
        let left_after = lines.len() - index - 1;
        let tail = if left_after > 0 {
            1 + count(&and_more(left_after))
        } else {
            0
        };
        if used + separator + count(line) + tail > limit {
            break;
        }
        used += separator + count(line);
        kept.push(line.to_owned());
    }
    let left = lines.len() - kept.len();
    tracing::warn!(
        lines = lines.len(),
        kept = kept.len(),
        chars = total,
        limit,
        "text longer than Discord allows: leaving lines out"
    );
    if kept.is_empty() {
        // Not even the first line fits whole: cut it, and count the others.
        let more = and_more(left - 1);
        let first = lines.first().map(AsRef::as_ref).unwrap_or_default();
        if left == 1 {
            return cut(first, limit);
        }
        let room = limit.saturating_sub(1 + count(&more));
        return format!("{}\n{more}", cut(first, room));
    }
    kept.push(and_more(left));
    kept.join("\n")
}

/// A message's `content`, within [`DiscordLimits::CONTENT`]: [`fit_lines`] over its lines.
pub fn fit_content(text: &str) -> String {
    if text.chars().count() <= DiscordLimits::CONTENT {
        return text.to_owned();
    }
    fit_lines(&text.lines().collect::<Vec<_>>(), DiscordLimits::CONTENT)
}

/// `lines` split into pages of at most `limit` characters each (lines joined by newlines);
/// a line longer than `limit` is cut to fit a page of its own. No lines, no pages.
pub fn paginate<S: AsRef<str>>(lines: &[S], limit: usize) -> Vec<Vec<String>> {
    let mut pages: Vec<Vec<String>> = Vec::new();
    let mut current: Vec<String> = Vec::new();
    let mut used = 0;
    for line in lines {
        let line = cut(line.as_ref(), limit);
        let chars = line.chars().count();
        let separator = usize::from(!current.is_empty());
        if !current.is_empty() && used + separator + chars > limit {
            pages.push(std::mem::take(&mut current));
            used = 0;
        }
        used += usize::from(!current.is_empty()) + chars;
        current.push(line);
    }
    if !current.is_empty() {
        pages.push(current);
    }
    pages
}

/// `text` with Discord's markdown characters (`\\ * _ ` ~ | >`) escaped by a backslash, so
/// that it shows as written: no italics from `_x_`, no spoiler from `||`, no quote from `>`.
/// For text shown outside a code span; inside one, leave backticks out instead.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\\' | '*' | '_' | '`' | '~' | '|' | '>') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_never_leaves_an_escape_without_what_it_escapes() {
        // `a_b_c` escaped is `a\_b\_c`; cut after the second backslash, the escape goes too.
        let escaped = escape_markdown("a_b_c");
        assert_eq!(escaped, "a\\_b\\_c");
        assert_eq!(cut(&escaped, 5), "a\\_b…");
        assert_eq!(
            cut(&escaped, 6),
            "a\\_b…",
            "the lone backslash before the cut is dropped"
        );
        // An escaped backslash (`\\`) is a whole pair and stays.
        let escaped = escape_markdown("x\\yz");
        assert_eq!(escaped, "x\\\\yz");
        assert_eq!(cut(&escaped, 4), "x\\\\…");
        for limit in 1..12 {
            let shortened = cut(&escape_markdown("a_b\\c*d"), limit);
            assert!(shortened.chars().count() <= limit, "{shortened}");
            let before = shortened.trim_end_matches('…');
            let run = before.len() - before.trim_end_matches('\\').len();
            assert_eq!(run % 2, 0, "{limit}: {shortened}");
        }
    }

    #[test]
    fn cutting_counts_characters_not_bytes() {
        assert_eq!(cut("ééééé", 3), "éé…");
        assert_eq!(cut("ééé", 3), "ééé");
        assert_eq!(cut("abc", 0), "");
    }

    #[test]
    fn content_is_cut_at_exactly_two_thousand_characters_of_any_width() {
        // 2,000 two-byte characters (4,000 bytes) fit exactly; one more does not.
        let exact = "é".repeat(DiscordLimits::CONTENT);
        assert_eq!(fit_content(&exact), exact);
        let over = "é".repeat(DiscordLimits::CONTENT + 1);
        let fitted = fit_content(&over);
        assert_eq!(fitted.chars().count(), DiscordLimits::CONTENT);
        assert!(fitted.ends_with("é…"), "{}", &fitted[fitted.len() - 8..]);
        // Four-byte characters (emoji) count one each too.
        let emoji = "📈".repeat(DiscordLimits::CONTENT + 5);
        assert_eq!(fit_content(&emoji).chars().count(), DiscordLimits::CONTENT);
    }

    #[test]
    fn a_list_keeps_whole_lines_and_says_how_many_are_left_out() {
        let lines: Vec<String> = (1..=5).map(|i| format!("line {i} ééé")).collect();
        // Each line is 10 characters; the whole list is 54.
        assert_eq!(fit_lines(&lines, 54), lines.join("\n"));
        let fitted = fit_lines(&lines, 53);
        assert_eq!(fitted, "line 1 ééé\nline 2 ééé\nline 3 ééé\n… and 2 more");
        assert!(fitted.chars().count() <= 53);
        // A first line longer than the limit is cut, and the others counted.
        let long = vec!["x".repeat(100), "y".to_owned(), "z".to_owned()];
        let fitted = fit_lines(&long, 40);
        assert_eq!(fitted.chars().count(), 40);
        assert!(fitted.ends_with("x…\n… and 2 more"), "{fitted}");
        assert_eq!(fit_lines(&["x".repeat(100)], 40).chars().count(), 40);
    }

    #[test]
    fn pages_hold_whole_lines_within_the_limit() {
        let lines: Vec<String> = (0..25)
            .map(|i| format!("{i:02}{}", "é".repeat(98)))
            .collect();
        let pages = paginate(&lines, 1_000);
        assert_eq!(
            pages.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![9, 9, 7]
        );
        for page in &pages {
            assert!(page.join("\n").chars().count() <= 1_000);
        }
        assert_eq!(pages.concat(), lines);
        assert!(paginate::<&str>(&[], 10).is_empty());
    }

    #[test]
    fn markdown_in_names_is_shown_as_written() {
        assert_eq!(
            escape_markdown(r"_x_ **b** `c` ~~d~~ ||e|| > f \ g"),
            r"\_x\_ \*\*b\*\* \`c\` \~\~d\~\~ \|\|e\|\| \> f \\ g"
        );
        assert_eq!(escape_markdown("S&P 500 @everyone"), "S&P 500 @everyone");
    }
}
