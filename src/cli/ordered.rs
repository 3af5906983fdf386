//! Writing a long, ordered output that several threads render: `highwater replay`'s lines.
//!
//! The items are cut into chunks of [`ITEMS_PER_CHUNK`]; with n renderers, the calling thread
//! renders every n-th chunk itself and a helper thread each of the others, into a byte buffer
//! it hands to the calling thread, which writes the chunks in order and hands each buffer back
//! to be filled again. (The caller renders too, rather than only waiting on the helpers: one
//! thread fewer than cores to wake per chunk.) So the whole
//! output is never in memory at once: a replay of a hundred histories is some 44 MB of JSON,
//! and fresh memory costs a page fault per 4 KB on first touch, more than rendering into a few
//! buffers that are used again.

use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

/// Items rendered into one buffer and written with one call: about 230 KB of JSON lines.
const ITEMS_PER_CHUNK: usize = 512;
/// Rendered chunks one renderer may have waiting for the writer.
const CHUNKS_AHEAD: usize = 2;

/// The writer's ends of one renderer's channels: its rendered chunks (or the error that stopped
/// it) come in, emptied buffers go back.
type Lane<E> = (Receiver<Result<Vec<u8>, E>>, SyncSender<Vec<u8>>);

/// Renders the items `0..count` with `render_chunk` (which appends the items of a range to the
/// buffer) and writes them to `out` in order, rendering on one thread per core. The first error
/// in output order, of rendering or of writing, ends the work and is returned.
pub(super) fn write_rendered<E>(
    out: &mut impl Write,
    count: usize,
    render_chunk: impl Fn(Range<usize>, &mut Vec<u8>) -> Result<(), E> + Sync,
) -> Result<(), E>
where
    E: From<io::Error> + Send,
{
    let chunks = count.div_ceil(ITEMS_PER_CHUNK);
    let chunk = |n: usize| n * ITEMS_PER_CHUNK..((n + 1) * ITEMS_PER_CHUNK).min(count);
    let renderers = thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(chunks);
    if renderers <= 1 {
        let mut buffer = Vec::new();
        for n in 0..chunks {
            buffer.clear();
            render_chunk(chunk(n), &mut buffer)?;
            out.write_all(&buffer)?;
        }
        return out.flush().map_err(E::from);
    }
    thread::scope(|scope| {
        // Per helper (lanes 1.. of `renderers`; the calling thread is lane 0 and renders its
        // own chunks between writes): rendered chunks to the writer, emptied buffers back.
        let mut helpers: Vec<Lane<E>> = Vec::with_capacity(renderers - 1);
        for first in 1..renderers {
            let (ready, rendered) = sync_channel(CHUNKS_AHEAD);
            let (give_back, spare) = sync_channel(CHUNKS_AHEAD + 2);
            let render_chunk = &render_chunk;
            scope.spawn(move || {
                for n in (first..chunks).step_by(renderers) {
                    let mut buffer: Vec<u8> = spare.try_recv().unwrap_or_default();
                    buffer.clear();
                    let done = render_chunk(chunk(n), &mut buffer).map(|()| buffer);
                    let failed = done.is_err();
                    // The writer has stopped (a failed write): nothing more is wanted.
                    if ready.send(done).is_err() || failed {
                        return;
                    }
                }
            });
            helpers.push((rendered, give_back));
        }
        let mut own = Vec::new();
        for n in 0..chunks {
            let lane = n % renderers;
            if lane == 0 {
                own.clear();
                render_chunk(chunk(n), &mut own)?;
                out.write_all(&own)?;
                continue;
            }
            let Some((rendered, give_back)) = helpers.get(lane - 1) else {
                break;
            };
            // A helper that stops without a chunk has panicked: the scope passes that on.
            let Ok(done) = rendered.recv() else {
                break;
            };
            let buffer = done?;
            out.write_all(&buffer)?;
            // A helper that has no more chunks to fill has dropped its end: nothing to do.
            let _ = give_back.try_send(buffer);
        }
        out.flush().map_err(E::from)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(range: Range<usize>, buffer: &mut Vec<u8>) -> Result<(), io::Error> {
        for i in range {
            writeln!(buffer, "line {i}")?;
        }
        Ok(())
    }

    #[test]
    fn every_item_is_written_once_in_order() {
        for count in [
            0,
            1,
            ITEMS_PER_CHUNK - 1,
            ITEMS_PER_CHUNK,
            7 * ITEMS_PER_CHUNK + 3,
        ] {
            let mut out = Vec::new();
            write_rendered(&mut out, count, render).expect("written");
            let mut expected = Vec::new();
            render(0..count, &mut expected).expect("rendered");
            assert!(out == expected, "{count} items");
        }
    }

    #[test]
    fn the_first_failure_in_output_order_is_the_error() {
        let count = 9 * ITEMS_PER_CHUNK;
        let mut out = Vec::new();
        let failed = write_rendered(&mut out, count, |range, buffer| {
            if range.contains(&(4 * ITEMS_PER_CHUNK + 1)) || range.start >= 6 * ITEMS_PER_CHUNK {
                return Err(io::Error::other(format!("cannot render {}", range.start)));
            }
            render(range, buffer)
        });
        let error = failed.expect_err("a chunk fails");
        assert_eq!(
            error.to_string(),
            format!("cannot render {}", 4 * ITEMS_PER_CHUNK)
        );
        let mut expected = Vec::new();
        render(0..4 * ITEMS_PER_CHUNK, &mut expected).expect("rendered");
        assert!(out == expected, "the chunks before the failure are written");
    }

    /// A writer that takes `room` bytes and then fails like a closed pipe.
    struct Closing {
        room: usize,
    }

    impl Write for Closing {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::ErrorKind::BrokenPipe.into());
            }
            let taken = bytes.len().min(self.room);
            self.room -= taken;
            Ok(taken)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_stops_the_renderers_and_is_the_error() {
        let mut out = Closing { room: 10_000 };
        let failed = write_rendered(&mut out, 50 * ITEMS_PER_CHUNK, render);
        let error = failed.expect_err("the writer fails");
        assert_eq!(error.kind(), io::ErrorKind::BrokenPipe);
    }
}
