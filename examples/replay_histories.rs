//! Writes the replay benchmark's 100 synthetic histories into a directory, to profile
//! `highwater replay` over exactly the files `benches/replay.rs` times:
//!
//! ```text
//! cargo run --release --example replay_histories /tmp/histories
//! valgrind --tool=callgrind target/release/highwater replay --data /tmp/histories \
//!     --from 1985-01-01 --json > /dev/null
//! ```

use std::path::PathBuf;

#[path = "../benches/support/histories.rs"]
mod histories;
#[path = "../benches/support/walk.rs"]
mod walk;

fn main() -> std::io::Result<()> {
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or_else(|| std::io::Error::other("usage: replay_histories DIR"))?;
    std::fs::create_dir_all(&dir)?;
    let (first, last) = histories::write_histories(&dir)?;
    println!("{}: sessions {first} to {last}", dir.display());
    Ok(())
}
