//! Password hashing with argon2id at the crate's defaults (OWASP's m=19 MiB, t=2, p=1).
//!
//! Each hash takes 19 MiB and tens of milliseconds on purpose, so a stranger must not be able to
//! start as many as they like: requests go through [`Hashers`], a few threads of their own (one
//! per core) fed by a bounded queue. The threads live as long as the site, so the memory each
//! hash takes is reused by the next one instead of piling up in the allocator's per-thread
//! arenas of the blocking pool (600 wrong logins used to leave the process at 2.9 GB), and given
//! back after a quiet while. Past the queue, the request gets our 503 with `Retry-After`.

use prometheus_client::metrics::counter::Counter;
use std::cell::RefCell;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};

use argon2::password_hash::{
    self, rand_core::OsRng, Output, ParamsString, PasswordHash, Salt, SaltString,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;

use crate::errors::panics::catching;
use crate::errors::AppError;

/// A hash that matches no password, verified when the username is unknown so that unknown
/// users and wrong passwords take the same time and the same path.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$gZiV/M1gPc22ElAH/Jh1Hw$CWOrkoo7oJBQ/iyh7uJ0LO2aLEfrHwTWllSAxT0zRno";

thread_local! {
    /// This thread's argon2 memory (19 MiB at the defaults), made once and reused by every
    /// hash: the crate's own functions allocate it anew each time, and glibc kept those blocks
    /// in its per-thread arenas (2,000 failed logins left the process at 416 MB).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// argon2id (version 0x13) of `password` with `salt` and `params` into `out`, in this thread's
/// reused memory.
fn argon2id_into(
    params: &Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    MEMORY.with_borrow_mut(|memory| {
        memory.resize(params.block_count(), Block::default());
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(password, salt, out, &mut memory[..])
    })
}

/// The argon2id output of `password` with `salt` (base64, as in a PHC string).
fn argon2id_output(
    params: &Params,
    password: &SecretString,
    salt: Salt<'_>,
    len: usize,
) -> Result<Output, password_hash::Error> {
    let mut salt_buffer = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buffer)?;
    Output::init_with(len, |out| {
        argon2id_into(params, password.expose_secret().as_bytes(), salt_bytes, out)
            .map_err(Into::into)
    })
}

/// Hashes `password` with a fresh random salt, in PHC string format.
pub fn hash_password(password: &SecretString) -> Result<String, AppError> {
    let failed = |e: password_hash::Error| {
        AppError::unexpected(anyhow::anyhow!("{e}")).context("Failed to hash a password")
    };
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let output = argon2id_output(
        &params,
        password,
        salt.as_salt(),
        Params::DEFAULT_OUTPUT_LEN,
    )
    .map_err(failed)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(failed)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches `stored_hash`; with no stored hash (an unknown user) the dummy hash
/// is checked instead and the answer is always false.
pub fn verify_password(stored_hash: Option<&str>, password: &SecretString) -> bool {
    let hash = stored_hash.unwrap_or(DUMMY_HASH);
    let Ok(parsed) = PasswordHash::new(hash) else {
        tracing::error!("A stored password hash could not be parsed");
        return false;
    };
    let (Some(salt), Some(expected), Ok(params)) =
        (parsed.salt, parsed.hash, Params::try_from(&parsed))
    else {
        return false;
    };
    if parsed.algorithm != Algorithm::Argon2id.ident() || parsed.version != Some(0x13) {
        return false;
    }
    let computed = argon2id_output(&params, password, salt, expected.len());
    // `Output`'s comparison takes the same time whatever the bytes.
    computed.is_ok_and(|computed| computed == expected) && stored_hash.is_some()
}

/// Hashes waiting for a thread before new ones are refused with 503.
const QUEUE_LENGTH: usize = 64;

/// One piece of work for a hashing thread, run in the span of the request that asked.
struct Job {
    work: Box<dyn FnOnce() + Send>,
    span: tracing::Span,
}

/// The hashing threads and their bounded queue.
pub struct Hashers {
    jobs: Sender<Job>,
    refused: Counter,
}

impl Hashers {
    /// One hashing thread per core.
    pub fn start(refused: Counter) -> Self {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        // crossbeam's channel, not std's: each thread waits on it with a timeout of its own
        // (behind one Mutex around std's receiver, the thread holding it starved the others,
        // which then never noticed they were idle).
        let (jobs, receiver) = bounded::<Job>(QUEUE_LENGTH);
        for n in 0..threads {
            let receiver = receiver.clone();
            let _ = std::thread::Builder::new()
                .name(format!("password-hashing-{n}"))
                .spawn(move || run_jobs(&receiver));
        }
        Hashers { jobs, refused }
    }

    /// Reads how many checks wait for a thread (for the metrics).
    pub fn queue_depth(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let jobs = self.jobs.clone();
        move || jobs.len()
    }

    /// A new hash of `password`.
    pub async fn hash(&self, password: SecretString) -> Result<String, AppError> {
        self.run(move || hash_password(&password)).await
    }

    /// Whether `password` matches `stored_hash` (an unknown user's `None` takes the same time).
    pub async fn verify(
        &self,
        stored_hash: Option<String>,
        password: SecretString,
    ) -> Result<bool, AppError> {
        self.run(move || Ok(verify_password(stored_hash.as_deref(), &password)))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work: Box::new(move || {
                let _ = reply.send(catching(work));
            }),
            span: tracing::Span::current(),
        };
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.refused.inc();
                return Err(AppError::Overloaded("Too many password checks are waiting"));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppError::unexpected(anyhow::anyhow!(
                    "The password hashing threads are gone"
                )))
            }
        }
        answer
            .await
            .map_err(|_| AppError::unexpected(anyhow::anyhow!("A password hashing job was lost")))?
    }
}

/// How long a hashing thread keeps its argon2 memory without a job. During a flood every hash
/// reuses it; after a quiet while it goes back to the system (19 MiB a thread: it was most of
/// the difference between 30 MB and 50 MB resident at rest).
const KEEP_MEMORY_FOR: Duration = Duration::from_secs(10);

fn run_jobs(receiver: &Receiver<Job>) {
    loop {
        let job = match receiver.recv_timeout(KEEP_MEMORY_FOR) {
            Ok(job) => job,
            Err(RecvTimeoutError::Timeout) => {
                // Freed, not cleared: the allocator gives a block this large back to the system.
                MEMORY.take();
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let _entered = job.span.enter();
        (job.work)();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashing_round_trips_and_uses_argon2id() {
        let hash = hash_password(&SecretString::from("cat")).unwrap();
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(Some(&hash), &SecretString::from("cat")));
        assert!(!verify_password(Some(&hash), &SecretString::from("dog")));
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_still_verify() {
        use argon2::PasswordHasher;
        let salt = SaltString::generate(&mut OsRng);
        let made = Argon2::default()
            .hash_password(b"an older hash", &salt)
            .unwrap()
            .to_string();
        assert!(verify_password(
            Some(&made),
            &SecretString::from("an older hash")
        ));
        assert!(!verify_password(
            Some(&made),
            &SecretString::from("another")
        ));
    }

    #[test]
    fn an_unknown_user_never_verifies() {
        assert!(!verify_password(None, &SecretString::from("anything")));
    }
}
