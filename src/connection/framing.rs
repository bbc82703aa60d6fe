//! Where one HTTP/1.1 request ends in a connection's bytes, read the way actix-http reads it
//! (`h1/decoder.rs`): the head with httparse (at most 96 headers), then a body of Content-Length
//! bytes or a chunked one. Only the length of each request is needed, never its meaning.
//!
//! Whenever the bytes are something actix will refuse (a malformed head, two Content-Lengths,
//! a head over 128 KiB) or will read as one endless body (a WebSocket upgrade, CONNECT), the
//! framing gives up and lets the rest of the connection through as it is: actix then closes
//! the connection, or decodes no further request from it, so nothing is queued either way.

use super::chunked::{advance_chunked, Chunk, ChunkOutcome};

/// actix-http's limits: headers per request, and bytes of a head still incomplete.
const MAX_HEADERS: usize = 96;
const MAX_HEAD_BYTES: usize = 128 * 1024;

/// What [`RequestFraming::advance`] found in the bytes it was given.
#[derive(Debug, PartialEq, Eq)]
pub struct Advanced {
    /// How many of the bytes belong to the current request.
    pub taken: usize,
    /// Whether the current request ended with them.
    pub request_ended: bool,
    /// Whether nothing after them may go in: actix refuses this request (and closes the
    /// connection), or reads everything after its head as its body until the end.
    pub last: bool,
}

#[derive(Debug)]
enum State {
    /// The head so far.
    Head(Vec<u8>),
    /// This many body bytes are still to come.
    Body(u64),
    /// A chunked body: actix-http's own states (`h1/chunked.rs`), and the chunk's size.
    Chunked(Chunk, u64),
    /// Nothing more goes in.
    Last,
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
                State::Last => (0, false),
                State::Head(head) => {
                    let before = head.len();
                    head.extend_from_slice(rest);
                    match head_length(head) {
                        HeadLength::Partial if head.len() >= MAX_HEAD_BYTES => {
                            self.state = State::Last;
                            (rest.len(), false)
                        }
                        HeadLength::Partial => (rest.len(), false),
                        HeadLength::Complete(length, body) => {
                            let used = length - before;
                            let ended = matches!(body, State::Head(_));
                            self.state = body;
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
                State::Chunked(chunk, size) => match advance_chunked(chunk, size, rest) {
                    (used, ChunkOutcome::More) => (used, false),
                    (used, ChunkOutcome::Ended) => {
                        self.state = State::Head(Vec::new());
                        (used, true)
                    }
                    (used, ChunkOutcome::Invalid) => {
                        self.state = State::Last;
                        (used, false)
                    }
                },
            };
            taken += used;
            let last = matches!(self.state, State::Last);
            if ended || last {
                return Advanced {
                    taken,
                    request_ended: ended,
                    last,
                };
            }
        }
        Advanced {
            taken,
            request_ended: false,
            last: false,
        }
    }
}

enum HeadLength {
    Partial,
    /// The head's length, and what follows it.
    Complete(usize, State),
}

/// A header value as actix-http reads it (`HeaderValue::to_str`): visible ASCII and tabs only.
fn visible(value: &[u8]) -> Option<&str> {
    value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
        .map(str::trim)
}

/// The length of the head at the start of `head`, if it is complete, and its body's framing,
/// by actix-http's rules (`h1/decoder.rs`, `set_headers` and `decode`). A head actix refuses,
/// and one whose body actix reads to the end of the connection, is the last to go in.
fn head_length(head: &[u8]) -> HeadLength {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let length = match request.parse(head) {
        Ok(httparse::Status::Complete(length)) => length,
        Ok(httparse::Status::Partial) => return HeadLength::Partial,
        Err(_) => return HeadLength::Complete(head.len(), State::Last),
    };
    let refused = HeadLength::Complete(length, State::Last);
    let http_11 = request.version == Some(1);
    let (mut content_length, mut chunked, mut websocket) = (None, false, false);
    let (mut seen_encoding, mut seen_host) = (false, false);
    for header in request.headers.iter() {
        let value = visible(header.value);
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            match value.filter(|v| !v.starts_with('+')).map(str::parse::<u64>) {
                Some(Ok(length)) if content_length.is_none() => content_length = Some(length),
                _ => return refused,
            }
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            match value {
                _ if !http_11 || seen_encoding => return refused,
                Some(v) if v.eq_ignore_ascii_case("chunked") => chunked = true,
                _ => return refused,
            }
            seen_encoding = true;
        } else if name.eq_ignore_ascii_case("host") {
            if seen_host {
                return refused;
            }
            seen_host = true;
        } else if name.eq_ignore_ascii_case("upgrade") {
            websocket |= value.is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        }
    }
    let no_length = content_length.is_none() && !chunked && !websocket;
    if (http_11 && !seen_host)
        || (chunked && content_length.is_some())
        || (!http_11 && request.method == Some("POST") && no_length)
    {
        return refused;
    }
    let body = if chunked {
        State::Chunked(Chunk::SizeFirst, 0)
    } else if websocket {
        State::Last
    } else {
        match content_length {
            Some(length) if length > 0 => State::Body(length),
            _ if request.method == Some("CONNECT") => State::Last,
            _ => State::Head(Vec::new()),
        }
    };
    HeadLength::Complete(length, body)
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
                if advanced.last {
                    piece = &[];
                }
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
    fn nothing_goes_in_after_what_actix_refuses_or_reads_to_the_end() {
        for head in [
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nContent-Length: 5\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
            "GET / HTTP/1.1\r\n\r\n",
            "CONNECT x:1 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            "NOT HTTP AT ALL\r\n\r\n",
            // A chunk extension with a control character, as actix refuses it.
            "GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1;\u{1}\r\n",
        ] {
            let bytes = format!("{head}GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
            let mut framing = RequestFraming::default();
            let advanced = framing.advance(bytes.as_bytes());
            assert!(advanced.last, "{head:?}");
            // A head httparse cannot read goes in with what came with it (at most one read):
            // actix stops at the same error, and decodes nothing after it.
            let unreadable = head.starts_with("NOT");
            assert!(
                unreadable || advanced.taken <= head.len(),
                "{head:?}: nothing of the next request"
            );
            assert_eq!(framing.advance(b"GET / HTTP/1.1\r\n").taken, 0);
        }
    }

    #[test]
    fn a_chunked_body_ends_where_actix_ends_it() {
        // Long extensions and trailers are fine; a bare LF after the last chunk starts a trailer.
        let long = format!("1;{}\r\nx\r\n0\r\n\r\n", "a".repeat(5_000));
        let head = "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
        let next = "GET /n HTTP/1.1\r\nHost: x\r\n\r\n";
        let found = requests(format!("{head}{long}{next}").as_bytes(), 7);
        assert_eq!(found, [format!("{head}{long}"), next.to_string()]);
        // actix reads the next request's lines as trailers: so does the framing.
        let bare_lf = format!("{head}0\r\n\n{next}");
        assert_eq!(requests(bare_lf.as_bytes(), 3), vec![bare_lf]);
    }
}
