//! A TCP stream that hands actix one request at a time: once a whole request has gone in, the
//! next one waits in the socket until the server has written some of the answer.
//!
//! actix-http's dispatcher decodes every complete request already in its 128 KiB read buffer
//! into its queue (its limit of 16 pipelined requests is checked only before it starts), and
//! each queued request takes about 7 KB. 200 connections sending 1,000 pipelined requests each
//! and reading nothing took the process from 17 MB to 1,171 MB. Behind this gate, a client that
//! does not read its answers stops the server's writes, so no new request of its goes in: what
//! it sent waits in the kernel's receive buffer, not in our memory.

use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::rt::net::TcpStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::framing::RequestFraming;

/// Bytes read from the socket at once while a request is in progress.
const READ_CHUNK: usize = 8 * 1024;

/// A connection's stream behind the gate.
pub struct GatedStream {
    io: TcpStream,
    framing: RequestFraming,
    /// Bytes read from the socket that belong to a later request than actix has been given.
    held: Vec<u8>,
    /// A whole request has gone in since the server last wrote.
    closed: bool,
    /// The server wrote since the current request began (an answer sent before the request's
    /// body was read, say): its end then closes nothing.
    answered: bool,
    /// Nothing more goes in: the stream reads as ended (see `RequestFraming`).
    ended: bool,
}

impl GatedStream {
    pub fn new(io: TcpStream) -> Self {
        GatedStream {
            io,
            framing: RequestFraming::default(),
            held: Vec::new(),
            closed: false,
            answered: false,
            ended: false,
        }
    }

    /// Hands over the bytes of `fresh` that belong to the current request, keeps the rest, and
    /// closes the gate when the request ends. Returns how many were handed over.
    fn admit(&mut self, fresh: &[u8]) -> usize {
        let advanced = self.framing.advance(fresh);
        if advanced.request_ended {
            self.closed = !self.answered;
            self.answered = false;
        }
        self.ended |= advanced.last;
        advanced.taken
    }
}

impl AsyncRead for GatedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closed {
            // A write reopens the gate and wakes this task (see `poll_write`).
            return Poll::Pending;
        }
        if this.ended {
            // What actix refuses, or reads to the end as a body: nothing follows it.
            this.held.clear();
            return Poll::Ready(Ok(()));
        }
        if !this.held.is_empty() {
            let offered = this.held.len().min(buf.remaining());
            let held = std::mem::take(&mut this.held);
            let taken = this.admit(&held[..offered]);
            buf.put_slice(&held[..taken]);
            this.held = held[taken..].to_vec();
            if taken == 0 && this.closed {
                return Poll::Pending;
            }
            return Poll::Ready(Ok(()));
        }
        // Left uninitialised: zeroing 8 KiB before every read (and the read that finds
        // nothing) was 1% of a page's instructions. `ReadBuf` tracks what the socket filled.
        let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
        let mut read = ReadBuf::uninit(&mut chunk[..buf.remaining().min(READ_CHUNK)]);
        std::task::ready!(Pin::new(&mut this.io).poll_read(cx, &mut read))?;
        let fresh = read.filled();
        let taken = this.admit(fresh);
        buf.put_slice(&fresh[..taken]);
        this.held = fresh[taken..].to_vec();
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for GatedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = std::task::ready!(Pin::new(&mut this.io).poll_write(cx, data));
        if matches!(written, Ok(n) if n > 0) {
            if this.closed {
                // The answer is leaving: the next request may come in. The reader waits on
                // this same task, so waking it is enough.
                this.closed = false;
                cx.waker().wake_by_ref();
            } else {
                this.answered = true;
            }
        }
        Poll::Ready(written)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
