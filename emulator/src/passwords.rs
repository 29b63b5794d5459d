//! Argon2id password hashing on a small pool of dedicated threads.
//!
//! One hash at the OWASP cost needs 19 MiB and tens of milliseconds. Unbounded, 64 parallel
//! sign-ins held 1.5 GB (and the allocator kept most of it). So every hash and every check
//! runs on [`HASHING_THREADS`] long-lived threads, each reusing one Argon2 buffer: the
//! hashing memory is at most `HASHING_THREADS` × 19 MiB, allocated once. Work beyond
//! [`QUEUE_CAPACITY`] waiting jobs is refused with 503 instead of queueing without bound.
//!
//! A check against an unknown login (or a user without a password) runs against a dummy hash
//! of the same cost, so the answer takes as long as a wrong password does.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::RngCore as _;
use tokio::sync::oneshot;

use crate::config::PasswordHashing;
use crate::errors::{ApiError, ApiResult};

/// Threads that hash, hence 19 MiB buffers alive at once (at most 4, at least 1).
pub(crate) static HASHING_THREADS: LazyLock<usize> =
    LazyLock::new(|| std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4)));
/// Jobs that may wait for a hashing thread before new ones get 503.
pub(crate) const QUEUE_CAPACITY: usize = 1024;

type Job = Box<dyn FnOnce() + Send>;

/// Largest memory cost accepted from a stored hash (64 MiB): an imported state file must not
/// make one check allocate without bound.
const MAX_M_COST_KIB: u32 = 64 * 1024;
const SALT_BYTES: usize = 16;
const OUTPUT_BYTES: usize = 32;

thread_local! {
    /// A hashing thread's Argon2 memory, grown to the largest cost seen and reused: the
    /// allocator never sees the 19 MiB come and go (with glibc each hash left its buffer
    /// behind, so the process grew by 19 MiB per sign-in).
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

fn params(mode: PasswordHashing) -> Params {
    match mode {
        PasswordHashing::Owasp => Params::default(),
        PasswordHashing::Fast => {
            Params::new(Params::MIN_M_COST, Params::MIN_T_COST, 1, None).unwrap_or_default()
        }
    }
}

/// Where the Argon2 memory comes from: the thread's reusable buffer (hashing threads) or a
/// temporary one (any other thread).
#[derive(Clone, Copy)]
enum Memory {
    Reused,
    Temporary,
}

fn argon2_into(
    argon: &Argon2<'_>,
    memory: Memory,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    let blocks = argon.params().block_count();
    match memory {
        Memory::Temporary => {
            let mut buffer = vec![Block::default(); blocks];
            argon.hash_password_into_with_memory(password, salt, out, &mut buffer[..])
        }
        Memory::Reused => MEMORY.with_borrow_mut(|buffer| {
            if buffer.len() < blocks {
                buffer.resize(blocks, Block::default());
            }
            argon.hash_password_into_with_memory(password, salt, out, &mut buffer[..blocks])
        }),
    }
}

fn hash_now(mode: PasswordHashing, password: &str, memory: Memory) -> ApiResult<String> {
    let failed =
        |e: &dyn std::fmt::Display| ApiError::internal(format!("password hashing failed: {e}"));
    let params = params(mode);
    let mut salt = [0u8; SALT_BYTES];
    rand::rng().fill_bytes(&mut salt);
    let mut out = [0u8; OUTPUT_BYTES];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2_into(&argon, memory, password.as_bytes(), &salt, &mut out).map_err(|e| failed(&e))?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| failed(&e))?,
        salt: Some(Salt::new(&salt).map_err(|e| failed(&e))?),
        hash: Some(Output::new(&out).map_err(|e| failed(&e))?),
    };
    Ok(phc.to_string())
}

/// Recomputes the stored PHC hash's function for `password`; compared in constant time.
fn verify_now(password: &str, phc: &str, memory: Memory) -> bool {
    let Ok(stored) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(stored.algorithm.as_str()),
        Params::try_from(&stored),
    ) else {
        return false;
    };
    if params.m_cost() > MAX_M_COST_KIB {
        tracing::warn!(
            m_cost = params.m_cost(),
            "stored password hash too costly; refused"
        );
        return false;
    }
    let version = stored.version.map_or(Ok(Version::V0x13), Version::try_from);
    let (Ok(version), Some(salt), Some(expected)) = (version, &stored.salt, &stored.hash) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon2_into(&argon, memory, password.as_bytes(), salt, &mut out).is_err() {
        return false;
    }
    Output::new(&out).is_ok_and(|computed| computed == *expected)
}

/// The hashing threads of one emulator; they end when it is dropped.
#[derive(Debug)]
pub(crate) struct Passwords {
    mode: PasswordHashing,
    jobs: SyncSender<Job>,
    /// A hash of a random password at `mode`'s cost, for checks that have no real hash.
    dummy: OnceLock<String>,
}

impl Passwords {
    pub(crate) fn new(mode: PasswordHashing) -> Self {
        let (jobs, queue) = sync_channel::<Job>(QUEUE_CAPACITY);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..*HASHING_THREADS {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("emulator-argon2-{i}"))
                .spawn(move || work(&queue));
            if let Err(e) = spawned {
                tracing::warn!(%e, "could not start a password hashing thread");
            }
        }
        Self {
            mode,
            jobs,
            dummy: OnceLock::new(),
        }
    }

    /// Runs `job` on a hashing thread.
    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(job());
        });
        match self.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(ApiError::from_status(
                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                    "too many password checks are waiting; retry shortly",
                ));
            }
            Err(TrySendError::Disconnected(_)) => {
                return Err(ApiError::internal("password hashing threads are gone"));
            }
        }
        result
            .await
            .map_err(|_| ApiError::internal("password hashing job failed"))
    }

    pub(crate) async fn hash(&self, password: String) -> ApiResult<String> {
        let mode = self.mode;
        self.run(move || hash_now(mode, &password, Memory::Reused))
            .await?
    }

    /// Hashes on the calling thread (the synchronous control API; seeding is not traffic).
    pub(crate) fn hash_blocking(&self, password: &str) -> ApiResult<String> {
        hash_now(self.mode, password, Memory::Temporary)
    }

    /// Checks `password` against `phc`; with no hash, checks against the dummy hash so the
    /// answer (always false) takes as long as a wrong password.
    pub(crate) async fn verify(&self, password: String, phc: Option<String>) -> ApiResult<bool> {
        let real = phc.is_some();
        let phc = match phc {
            Some(phc) => phc,
            None => self.dummy().await?,
        };
        let matches = self
            .run(move || verify_now(&password, &phc, Memory::Reused))
            .await?;
        Ok(real && matches)
    }

    async fn dummy(&self) -> ApiResult<String> {
        if let Some(dummy) = self.dummy.get() {
            return Ok(dummy.clone());
        }
        let hashed = self.hash(crate::secrets::random_token("")).await?;
        Ok(self.dummy.get_or_init(|| hashed).clone())
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        let job = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}
