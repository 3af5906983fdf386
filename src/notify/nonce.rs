//! The nonce of an alert message, derived from what the message is: the server, the
//! destination and the dedup keys of the alerts it carries.
//!
//! Discord's Create Message takes a `nonce` of at most 25 characters and, with
//! `enforce_nonce`, answers a repeat within a few minutes in the same channel with the message
//! already posted. That is what makes a re-send after a crash harmless, and why a nonce must
//! name one message and nothing else. A nonce made from a row id of the database
//! (`hw<outbox id>`) repeats in every database: two databases used with one bot token (a
//! staging copy, a restored backup) would give different alerts the same nonce, and Discord
//! would swallow the second while highwater recorded it as delivered. A nonce made from the
//! message's identity is the same for the same message wherever it is stored — every re-send,
//! every restart, a restored copy — and differs between different messages, whichever
//! database they come from.
//!
//! The identity is hashed with SHA-256 (stable by definition, unlike `std`'s `DefaultHasher`)
//! over length-prefixed fields, so no two identities share an input, and the first 115 bits are
//! written in lowercase base32 after `hw`: 25 characters. A collision between two different
//! messages would need about 2^57 messages in one channel within Discord's window.

use sha2::{Digest, Sha256};

use super::DiscordLimits;

/// The prefix of every nonce (and of the nonces of rows stored before this scheme).
const PREFIX: &str = "hw";
/// Base32 characters after the prefix: 5 bits each.
const HASH_CHARS: usize = 23;
/// Separates this hash from any other use of SHA-256 over the same fields.
const DOMAIN: &[u8] = b"highwater alert message nonce v1";
const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

const _: () = assert!(PREFIX.len() + HASH_CHARS <= DiscordLimits::NONCE);

/// The nonce of the message that `server` sends to `destination` carrying the alerts with
/// these dedup keys (`rule/symbol/kind/period`, in any order). `destination` names the place
/// itself, not a row of a database: `channel:<id>`, `webhook:<id>`, `console`.
pub fn message_nonce(server: &str, destination: &str, dedup_keys: &[String]) -> String {
    let mut keys: Vec<&str> = dedup_keys.iter().map(String::as_str).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut hash = Sha256::new();
    hash.update(DOMAIN);
    for field in [server, destination].into_iter().chain(keys) {
        hash.update((field.len() as u64).to_be_bytes());
        hash.update(field.as_bytes());
    }
    let digest = hash.finalize();
    let full = PREFIX.len() + HASH_CHARS;
    let mut nonce = String::with_capacity(full);
    nonce.push_str(PREFIX);
    // The digest as a stream of bits, five at a time (RFC 4648 base32, lowercase).
    let (mut buffer, mut bits) = (0u32, 0u32);
    for byte in digest.iter() {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 && nonce.len() < full {
            bits -= 5;
            nonce.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
        if nonce.len() == full {
            break;
        }
        buffer &= (1 << bits) - 1;
    }
    nonce
}

/// The nonce a message stored before nonces were derived from identities was sent with: a
/// re-send of such a message keeps it, so Discord still recognises the repeat.
pub fn legacy_nonce(outbox_id: i64) -> String {
    format!("{PREFIX}{outbox_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[&str]) -> Vec<String> {
        list.iter().map(|k| (*k).to_owned()).collect()
    }

    const RECORD: &str = "record-close/^RUT/record_high/2025-09-18";
    const ON_PACE: &str = "weekly-streak-up/^RUT/streak_on_pace/2025-W38";

    #[test]
    fn a_nonce_is_25_lowercase_base32_characters_after_hw() {
        let nonce = message_nonce("discord:1111", "channel:2001", &keys(&[RECORD]));
        assert_eq!(nonce.chars().count(), DiscordLimits::NONCE);
        assert!(nonce.starts_with("hw"), "{nonce}");
        assert!(nonce[2..].bytes().all(|b| BASE32.contains(&b)), "{nonce}");
    }

    #[test]
    fn the_nonce_of_a_message_never_changes_between_versions_or_runs() {
        // Fixed values, checked against Python's hashlib and base64 over the same fields: a
        // change here would make every message stored before it a different message to Discord.
        assert_eq!(
            message_nonce("discord:1111", "channel:2001", &keys(&[RECORD, ON_PACE])),
            "hwqs5ve4gj5p32xkdby3bltuc"
        );
        assert_eq!(
            message_nonce("config:desk", "console", &keys(&[RECORD])),
            "hwqkkddc4rmjtt6s3aet5da6o"
        );
    }

    #[test]
    fn the_order_of_the_alerts_does_not_matter() {
        assert_eq!(
            message_nonce("discord:1", "channel:2", &keys(&[RECORD, ON_PACE])),
            message_nonce("discord:1", "channel:2", &keys(&[ON_PACE, RECORD]))
        );
    }

    #[test]
    fn each_part_of_the_identity_changes_the_nonce() {
        let base = message_nonce("discord:1", "channel:2", &keys(&[RECORD]));
        let others = [
            message_nonce("discord:9", "channel:2", &keys(&[RECORD])),
            message_nonce("discord:1", "channel:3", &keys(&[RECORD])),
            message_nonce("discord:1", "channel:2", &keys(&[ON_PACE])),
            message_nonce("discord:1", "channel:2", &keys(&[RECORD, ON_PACE])),
            message_nonce("discord:1", "channel:2", &[]),
        ];
        for other in others {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        assert_ne!(
            message_nonce("discord:1", "channel:23", &[]),
            message_nonce("discord:1channel:2", "3", &[])
        );
        assert_ne!(
            message_nonce("s", "d", &keys(&["ab", "c"])),
            message_nonce("s", "d", &keys(&["a", "bc"]))
        );
    }

    #[test]
    fn a_message_stored_before_keeps_the_nonce_it_was_first_sent_with() {
        assert_eq!(legacy_nonce(42), "hw42");
    }
}
