//! A chunked request body, read as actix-http reads it (`h1/chunked.rs`, `ChunkedState`), one
//! byte at a time: where it ends, or that actix refuses it, must be decided exactly as actix
//! decides, or a pipelined request could slip past the gate (`gate.rs`) or wait for good.

/// The states of actix-http's `ChunkedState`, one byte at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunk {
    SizeFirst,
    SizeRest,
    SizeLws,
    Extension,
    SizeLf,
    Data,
    DataCr,
    DataLf,
    Trailer,
    TrailerLf,
    EndCr,
    EndLf,
}

pub enum ChunkOutcome {
    More,
    Ended,
    Invalid,
}

/// Reads `bytes` of a chunked body with actix-http's state machine (`h1/chunked.rs`): how many
/// it used, and whether the body ended or is one actix refuses.
pub fn advance_chunked(chunk: &mut Chunk, size: &mut u64, bytes: &[u8]) -> (usize, ChunkOutcome) {
    use Chunk::*;
    let hex = |b: u8| (b as char).to_digit(16).map(u64::from);
    let mut used = 0;
    while used < bytes.len() {
        if *chunk == Data {
            let take = (*size).min((bytes.len() - used) as u64);
            *size -= take;
            used += take as usize;
            if *size == 0 {
                *chunk = DataCr;
            }
            continue;
        }
        let b = bytes[used];
        used += 1;
        let next = match (*chunk, b) {
            (SizeFirst, b) => hex(b).map(|digit| {
                *size = digit;
                SizeRest
            }),
            (SizeRest, b'\t' | b' ') => Some(SizeLws),
            (SizeRest, b';') => Some(Extension),
            (SizeRest, b'\r') => Some(SizeLf),
            (SizeRest, b) => hex(b)
                .and_then(|digit| size.checked_mul(16).map(|n| n + digit))
                .map(|n| {
                    *size = n;
                    SizeRest
                }),
            (SizeLws, b'\t' | b' ') => Some(SizeLws),
            (SizeLws, b';') => Some(Extension),
            (SizeLws, b'\r') => Some(SizeLf),
            (Extension, b'\r') => Some(SizeLf),
            (Extension, 0x00..=0x08 | 0x0a..=0x1f | 0x7f) => None,
            (Extension, _) => Some(Extension),
            (SizeLf, b'\n') if *size > 0 => Some(Data),
            (SizeLf, b'\n') => Some(EndCr),
            (DataCr, b'\r') => Some(DataLf),
            (DataLf, b'\n') => Some(SizeFirst),
            (Trailer, b'\r') => Some(TrailerLf),
            (Trailer, _) => Some(Trailer),
            (TrailerLf, b'\n') => Some(EndCr),
            (EndCr, b'\r') => Some(EndLf),
            (EndCr, _) => Some(Trailer),
            (EndLf, b'\n') => return (used, ChunkOutcome::Ended),
            _ => None,
        };
        match next {
            Some(next) => *chunk = next,
            None => return (used, ChunkOutcome::Invalid),
        }
    }
    (used, ChunkOutcome::More)
}
