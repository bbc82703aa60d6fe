//! Where one HTTP/1.1 request ends in a connection's bytes, read the way actix-http reads it
//! (`h1/decoder.rs`): the head with httparse (at most 96 headers), then a body of Content-Length
//! bytes or a chunked one. Only the length of each request is needed, never its meaning.
//!
//! Whenever the bytes are something actix will refuse (a malformed head, two Content-Lengths,
//! a head over 128 KiB) or will read as one endless body (a WebSocket upgrade, CONNECT), the
//! framing gives up and lets the rest of the connection through as it is: actix then closes
//! the connection, or decodes no further request from it, so nothing is queued either way.

/// actix-http's limits: headers per request, and bytes of a head still incomplete.
const MAX_HEADERS: usize = 96;
const MAX_HEAD_BYTES: usize = 128 * 1024;
/// A chunk-size line (or a trailer line) longer than this is not one actix would accept.
const MAX_LINE_BYTES: usize = 4 * 1024;

/// What [`RequestFraming::advance`] found in the bytes it was given.
#[derive(Debug, PartialEq, Eq)]
pub struct Advanced {
    /// How many of the bytes belong to the current request.
    pub taken: usize,
    /// Whether the current request ended with them.
    pub request_ended: bool,
}

#[derive(Debug)]
enum State {
    /// The head so far.
    Head(Vec<u8>),
    /// This many body bytes are still to come.
    Body(u64),
    Chunked(Chunk),
    /// No more framing: everything passes.
    PassThrough,
}

#[derive(Debug)]
enum Chunk {
    /// A chunk-size line so far.
    Size(Vec<u8>),
    /// This many data bytes, then CRLF (2 more bytes).
    Data(u64),
    /// A trailer line so far; an empty one ends the request.
    Trailer(Vec<u8>),
}

/// The framing of one connection's requests.
#[derive(Debug)]
pub struct RequestFraming {
    state: State,
}

impl Default for RequestFraming {
    fn default() -> Self {
        RequestFraming {
            state: State::Head(Vec::new()),
        }
    }
}

impl RequestFraming {
    /// Reads as much of `bytes` as belongs to the current request.
    pub fn advance(&mut self, bytes: &[u8]) -> Advanced {
        let mut taken = 0;
        while taken < bytes.len() {
            let rest = &bytes[taken..];
            let (used, ended) = match &mut self.state {
                State::PassThrough => (rest.len(), false),
                State::Head(head) => {
                    let before = head.len();
                    head.extend_from_slice(rest);
                    match head_length(head) {
                        HeadLength::Partial if head.len() >= MAX_HEAD_BYTES => {
                            self.state = State::PassThrough;
                            (rest.len(), false)
                        }
                        HeadLength::Partial => (rest.len(), false),
                        HeadLength::Complete(length, body) => {
                            let used = length - before;
                            self.state = body;
                            let ended = matches!(self.state, State::Head(_));
                            (used, ended)
                        }
                    }
                }
                State::Body(remaining) => {
                    let used = (*remaining).min(rest.len() as u64) as usize;
                    *remaining -= used as u64;
                    let ended = *remaining == 0;
                    if ended {
                        self.state = State::Head(Vec::new());
                    }
                    (used, ended)
                }
                State::Chunked(chunk) => {
                    let (used, outcome) = chunk.advance(rest);
                    match outcome {
                        ChunkOutcome::More => (used, false),
                        ChunkOutcome::Ended => {
                            self.state = State::Head(Vec::new());
                            (used, true)
                        }
                        ChunkOutcome::Invalid => {
                            self.state = State::PassThrough;
                            (rest.len(), false)
                        }
                    }
                }
            };
            taken += used;
            if ended {
                return Advanced {
                    taken,
                    request_ended: true,
                };
            }
        }
        Advanced {
            taken,
            request_ended: false,
        }
    }
}

enum HeadLength {
    Partial,
    /// The head's length, and what follows it.
    Complete(usize, State),
}

/// The length of the head at the start of `head`, if it is complete, and its body's framing,
/// by actix-http's rules (`h1/decoder.rs`, `set_headers` and `decode`).
fn head_length(head: &[u8]) -> HeadLength {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let length = match request.parse(head) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return HeadLength::Partial,
        Err(_) => return HeadLength::Complete(head.len(), State::PassThrough),
    };
    let named = |name: &'static str| {
        request
            .headers
            .iter()
            .filter(move |header| header.name.eq_ignore_ascii_case(name))
            .map(|header| std::str::from_utf8(header.value).map(str::trim))
    };
    let lengths: Vec<_> = named("content-length").collect();
    let encodings: Vec<_> = named("transfer-encoding").collect();
    let websocket =
        named("upgrade").any(|value| value.is_ok_and(|v| v.eq_ignore_ascii_case("websocket")));
    let body = match (lengths.as_slice(), encodings.as_slice()) {
        ([], []) if websocket || request.method == Some("CONNECT") => State::PassThrough,
        ([], []) => State::Head(Vec::new()),
        ([Ok(value)], []) if !value.starts_with('+') => match value.parse::<u64>() {
            Ok(0) => State::Head(Vec::new()),
            Ok(length) => State::Body(length),
            Err(_) => State::PassThrough,
        },
        ([], [Ok(value)])
            if value.eq_ignore_ascii_case("chunked") && request.version == Some(1) =>
        {
            State::Chunked(Chunk::Size(Vec::new()))
        }
        // Anything else actix refuses, and closes the connection.
        _ => State::PassThrough,
    };
    HeadLength::Complete(length, body)
}

enum ChunkOutcome {
    More,
    Ended,
    Invalid,
}

impl Chunk {
    /// Reads `bytes` of a chunked body: how many it used, and whether the body ended.
    fn advance(&mut self, bytes: &[u8]) -> (usize, ChunkOutcome) {
        let mut used = 0;
        while used < bytes.len() {
            let rest = &bytes[used..];
            let is_trailer = matches!(self, Chunk::Trailer(_));
            match self {
                Chunk::Size(line) | Chunk::Trailer(line) => {
                    let end = rest.iter().position(|&b| b == b'\n');
                    let take = end.map_or(rest.len(), |end| end + 1);
                    line.extend_from_slice(&rest[..take]);
                    used += take;
                    if line.len() > MAX_LINE_BYTES {
                        return (used, ChunkOutcome::Invalid);
                    }
                    if end.is_none() {
                        continue;
                    }
                    let text = String::from_utf8_lossy(line).into_owned();
                    let text = text.trim_end_matches(['\r', '\n']);
                    if is_trailer {
                        if text.is_empty() {
                            return (used, ChunkOutcome::Ended);
                        }
                        *self = Chunk::Trailer(Vec::new());
                        continue;
                    }
                    let size = text.split(';').next().unwrap_or("").trim();
                    match u64::from_str_radix(size, 16) {
                        Ok(0) => *self = Chunk::Trailer(Vec::new()),
                        Ok(size) => *self = Chunk::Data(size.saturating_add(2)),
                        Err(_) => return (used, ChunkOutcome::Invalid),
                    }
                }
                Chunk::Data(remaining) => {
                    let take = (*remaining).min(rest.len() as u64) as usize;
                    *remaining -= take as u64;
                    used += take;
                    if *remaining == 0 {
                        *self = Chunk::Size(Vec::new());
                    }
                }
            }
        }
        (used, ChunkOutcome::More)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The requests `bytes` holds, as the framing cuts them (fed `step` bytes at a time).
    fn requests(bytes: &[u8], step: usize) -> Vec<String> {
        let mut framing = RequestFraming::default();
        let (mut found, mut current) = (Vec::new(), Vec::new());
        for piece in bytes.chunks(step) {
            let mut piece = piece;
            while !piece.is_empty() {
                let advanced = framing.advance(piece);
                current.extend_from_slice(&piece[..advanced.taken]);
                piece = &piece[advanced.taken..];
                if advanced.request_ended {
                    found.push(String::from_utf8_lossy(&current).into_owned());
                    current.clear();
                }
            }
        }
        if !current.is_empty() {
            found.push(format!("unfinished: {}", String::from_utf8_lossy(&current)));
        }
        found
    }

    #[test]
    fn pipelined_requests_are_cut_where_each_ends_however_the_bytes_arrive() {
        let get = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
        let post = "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";
        let chunked = "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                       3;ext=1\r\nabc\r\n0\r\nTrailer: y\r\n\r\n";
        let all = format!("{get}{post}{chunked}{get}");
        for step in [1, 2, 7, 64, all.len()] {
            assert_eq!(
                requests(all.as_bytes(), step),
                [get, post, chunked, get],
                "step {step}"
            );
        }
    }

    #[test]
    fn what_actix_refuses_or_reads_to_the_end_lets_the_rest_pass() {
        for head in [
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
            "NOT HTTP AT ALL\r\n\r\n",
        ] {
            let bytes = format!("{head}GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
            let found = requests(bytes.as_bytes(), 5);
            assert_eq!(found.len(), 1, "{head:?}: {found:?}");
            assert!(found[0].starts_with("unfinished"), "{head:?}");
        }
    }
}
