//! A token store in Redis, shared by processes on any number of machines (feature `redis`).
//!
//! The protocol, per session key `K` (three Redis keys in one hash slot, `{K}`):
//!
//! - `cloudbase-auth:{K}:session`, a hash: `session` (the JSON of a session file, absent
//!   after a sign-out) and `fence` (the fencing value of the write that put it there);
//! - `cloudbase-auth:{K}:lease`, the refresh lease: the holder's fencing value, with a TTL;
//! - `cloudbase-auth:{K}:fence`, the last fencing value handed out.
//!
//! A refresh takes the lease ([`TokenStore::lock`]), re-reads the session, spends the
//! refresh token, and writes the new pair with a compare-and-set (a Lua script): the write
//! lands only if this process still holds the lease and no write with a higher fencing
//! value happened since. The lease is renewed while its holder lives and expires when it
//! dies. Fencing values are `max(last + 1, Redis TIME in µs)`: they only grow, even across a
//! Redis restart that lost the counter, so a write from before a failover never wins over
//! one from after it.

use std::fmt;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use redis::Script;
use redis::aio::ConnectionManager;
use tokio::task::JoinHandle;

use crate::error::StoreError;
use crate::token_store::{
    StoreFuture, StoreLock, StoredSession, TokenStore, decode_session_file, encode_session_file,
};

/// Lua: sets the (declared) local `fence` to the next fencing value, stored in `KEYS[fence_key]`.
macro_rules! next_fence_lua {
    ($fence_key:literal) => {
        concat!(
            "local t = redis.call('TIME')\n",
            "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n",
            "fence = math.max((tonumber(redis.call('GET', KEYS[",
            $fence_key,
            "])) or 0) + 1, now)\n",
            "redis.call('SET', KEYS[",
            $fence_key,
            "], string.format('%.0f', fence))\n",
        )
    };
}

/// KEYS: lease, fence. ARGV: lease ms. Returns `{fence, 0}`, or `{0, ms the lease has left}`.
static ACQUIRE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local left = redis.call('PTTL', KEYS[1])\n",
        "if left ~= -2 then return {0, left} end\n",
        "local fence\n",
        next_fence_lua!("2"),
        "redis.call('SET', KEYS[1], string.format('%.0f', fence), 'PX', ARGV[1])\n",
        "return {fence, 0}\n",
    ))
});

/// KEYS: lease. ARGV: fence, lease ms. 1 if still held (and extended), else 0.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end\nreturn 0\n",
    )
});

/// KEYS: lease. ARGV: fence. Deletes the lease only if this holder still has it.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end\nreturn 0\n",
    )
});

/// KEYS: session, lease, fence. ARGV: session JSON (`''` for a sign-out), the lease's
/// fence (`''` when no lease is held: a sign-in, which gets a new, highest fence).
/// Returns the fence written, `-1` if the lease is no longer this writer's, `-2` if a
/// write with a higher fence is stored.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(concat!(
        "local fence\n",
        "if ARGV[2] == '' then\n",
        next_fence_lua!("3"),
        "else\n",
        "  if redis.call('GET', KEYS[2]) ~= ARGV[2] then return -1 end\n",
        "  fence = tonumber(ARGV[2])\n",
        "end\n",
        "if (tonumber(redis.call('HGET', KEYS[1], 'fence')) or 0) > fence then return -2 end\n",
        "if ARGV[1] == '' then redis.call('HDEL', KEYS[1], 'session')\n",
        "else redis.call('HSET', KEYS[1], 'session', ARGV[1]) end\n",
        "redis.call('HSET', KEYS[1], 'fence', string.format('%.0f', fence))\n",
        "return fence\n",
    ))
});

/// Keeps a session in Redis, shared by every process (on any machine) that opens a
/// store with the same Redis and name. Each refresh token is spent once: a refresh holds
/// the store's lease, re-reads the session under it and adopts a pair another process
/// already rotated; writes are compare-and-set on a fencing value, so an older pair never
/// replaces a newer one. See the README's "Token stores" section for the deployment this
/// assumes.
///
/// When Redis does not answer, calls fail with [`StoreError::Unavailable`] (bounded by the
/// connection's timeouts): a session keeps using its current access token until it
/// expires, and refreshes once Redis is back.
///
/// ```no_run
/// use cloudbase_auth::{Config, RedisTokenStore, Session};
/// # async fn demo() -> Result<(), cloudbase_auth::Error> {
/// // One connection per process, shared by all its stores.
/// let redis = RedisTokenStore::connect("redis://10.0.0.5:6379/").await?;
/// let store = RedisTokenStore::new(redis, "bot-account");
/// let session = Session::new(Config::for_env("my-env").with_token_store(store))?;
/// if !session.restore().await? {
///     session.sign_in_with_password("bot", "correct horse").await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisTokenStore {
    redis: ConnectionManager,
    name: String,
    session_key: String,
    lease_key: String,
    fence_key: String,
    lease: Duration,
    lock_timeout: Duration,
    held: Arc<Mutex<Held>>,
}

/// What this store object knows of the fencing values.
#[derive(Default)]
struct Held {
    /// The lease this object holds now, if any (set by `lock`, cleared when the lock drops).
    lease: Option<u64>,
    /// The highest fence this object has read or written: a stored session with a lower
    /// one is from before a Redis rollback (a failover that lost writes).
    high_water: u64,
    /// The release of the last lease, still in flight: the next `lock` of this object
    /// awaits it rather than polling for its own lease to go away.
    releasing: Option<JoinHandle<()>>,
}

impl RedisTokenStore {
    /// A store for the session called `name` (any string; one per shared session).
    /// Default lease 10 s (renewed while held), lock wait 30 s.
    pub fn new(redis: ConnectionManager, name: impl Into<String>) -> RedisTokenStore {
        let name = name.into();
        let key = |part: &str| format!("cloudbase-auth:{{{name}}}:{part}");
        RedisTokenStore {
            redis,
            session_key: key("session"),
            lease_key: key("lease"),
            fence_key: key("fence"),
            name,
            lease: Duration::from_secs(10),
            lock_timeout: Duration::from_secs(30),
            held: Arc::default(),
        }
    }

    /// How long a lease lasts without renewal: how long the others wait when its holder
    /// dies mid-refresh (default 10 s; renewed every third of it while held).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(30));
        self
    }

    /// How long a refresh waits for the lease before failing with
    /// [`StoreError::Unavailable`] (default 30 s).
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The session's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection to the Redis at `url` (`redis://[:password@]host:port/db`, or
    /// `rediss://` with a TLS feature of the `redis` crate), with the timeouts this store
    /// assumes: 1 s to connect, 1 s per command, two reconnection attempts per failure.
    /// Connects on first use, so it succeeds while Redis is down. Clone it for every store
    /// of the process.
    pub async fn connect(url: &str) -> Result<ConnectionManager, StoreError> {
        let fail = |e: redis::RedisError| StoreError::Unavailable {
            operation: "connecting to Redis for",
            key: "(all sessions)".into(),
            message: e.to_string(),
        };
        let client = redis::Client::open(url).map_err(fail)?;
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(2)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        ConnectionManager::new_lazy_with_config(client, config).map_err(fail)
    }

    fn unavailable(&self, operation: &'static str, error: redis::RedisError) -> StoreError {
        StoreError::Unavailable {
            operation,
            key: self.session_key.clone(),
            message: error.to_string(),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn load_fenced(&self) -> Result<Option<StoredSession>, StoreError> {
        let mut redis = self.redis.clone();
        let (json, fence): (Option<String>, Option<u64>) = redis::cmd("HMGET")
            .arg(&self.session_key)
            .arg("session")
            .arg("fence")
            .query_async(&mut redis)
            .await
            .map_err(|e| self.unavailable("reading", e))?;
        let fence = fence.unwrap_or(0);
        {
            let mut held = self.held();
            if fence < held.high_water {
                // Redis lost writes this process saw (a failover, a restore): the stored
                // pair is older than this session's, and adopting it would spend a spent
                // refresh token. Report nothing newer; the next save replaces it.
                tracing::warn!(key = %self.session_key, "the stored session is older than one this process saw (Redis lost writes); ignoring it");
                return Ok(None);
            }
            held.high_water = fence;
        }
        let Some(json) = json else { return Ok(None) };
        decode_session_file(json.as_bytes())
            .map(Some)
            .map_err(|reason| StoreError::Corrupt {
                path: self.session_key.clone(),
                reason,
            })
    }

    /// The compare-and-set write; `json` empty for a sign-out. A write that did not get an
    /// answer is sent again (twice, 100 and 300 ms later): the pair was just paid for with
    /// a refresh token, and the script is idempotent for one fence.
    async fn write(&self, json: String) -> Result<(), StoreError> {
        let lease = self.held().lease.map(|f| f.to_string()).unwrap_or_default();
        let mut pause = Duration::from_millis(100);
        let mut attempts_left = 2;
        let written = loop {
            let mut redis = self.redis.clone();
            let result: RedisResult<i64> = SAVE
                .key(&self.session_key)
                .key(&self.lease_key)
                .key(&self.fence_key)
                .arg(&json)
                .arg(&lease)
                .invoke_async(&mut redis)
                .await;
            match result {
                Ok(written) => break written,
                Err(error) if attempts_left > 0 => {
                    tracing::debug!(key = %self.session_key, %error, "writing the session failed; retrying");
                    attempts_left -= 1;
                    tokio::time::sleep(pause).await;
                    pause *= 3;
                }
                Err(error) => return Err(self.unavailable("writing", error)),
            }
        };
        let conflict = |reason| StoreError::Conflict {
            key: self.session_key.clone(),
            reason,
        };
        match written {
            -1 => Err(conflict("this process's refresh lease expired")),
            -2 => Err(conflict("a later write is stored")),
            fence => {
                let mut held = self.held();
                held.high_water = held.high_water.max(fence.unsigned_abs());
                Ok(())
            }
        }
    }

    /// Takes the lease, polling while another process holds it (at most until it expires
    /// or `lock_timeout` passes).
    async fn acquire(&self) -> Result<LeaseGuard, StoreError> {
        let releasing = self.held().releasing.take();
        if let Some(releasing) = releasing {
            // Bounded by the connection's response timeout.
            let _ = releasing.await;
        }
        let started = tokio::time::Instant::now();
        let lease_ms = self.lease.as_millis().to_string();
        let mut pause = Duration::from_millis(5);
        loop {
            let mut redis = self.redis.clone();
            let (fence, left_ms): (u64, i64) = ACQUIRE
                .key(&self.lease_key)
                .key(&self.fence_key)
                .arg(&lease_ms)
                .invoke_async(&mut redis)
                .await
                .map_err(|e| self.unavailable("taking the refresh lease of", e))?;
            if fence != 0 {
                self.held().lease = Some(fence);
                return Ok(LeaseGuard::new(self.clone(), fence));
            }
            if started.elapsed() >= self.lock_timeout {
                return Err(StoreError::Unavailable {
                    operation: "waiting for the refresh lease of",
                    key: self.session_key.clone(),
                    message: format!(
                        "another process has held it for over {:?}",
                        self.lock_timeout
                    ),
                });
            }
            let left = Duration::from_millis(left_ms.max(1).unsigned_abs());
            tokio::time::sleep(pause.min(left)).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }

    /// Keeps the lease alive while its holder lives; stops once it is lost.
    async fn renew(self, fence: u64) {
        let period = self.lease / 3;
        let (fence, lease_ms) = (fence.to_string(), self.lease.as_millis().to_string());
        loop {
            tokio::time::sleep(period).await;
            let mut redis = self.redis.clone();
            let renewed: RedisResult<i64> = RENEW
                .key(&self.lease_key)
                .arg(&fence)
                .arg(&lease_ms)
                .invoke_async(&mut redis)
                .await;
            match renewed {
                Ok(1) => {}
                Ok(_) => return,
                Err(error) => {
                    tracing::warn!(key = %self.lease_key, %error, "could not renew the refresh lease");
                }
            }
        }
    }
}

type RedisResult<T> = Result<T, redis::RedisError>;

/// A held lease: renewed in the background, released (if still ours) when dropped.
struct LeaseGuard {
    store: RedisTokenStore,
    fence: u64,
    renewal: JoinHandle<()>,
}

impl LeaseGuard {
    fn new(store: RedisTokenStore, fence: u64) -> LeaseGuard {
        let renewal = tokio::spawn(store.clone().renew(fence));
        LeaseGuard {
            store,
            fence,
            renewal,
        }
    }
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renewal.abort();
        {
            let mut held = self.store.held();
            if held.lease == Some(self.fence) {
                held.lease = None;
            }
        }
        // Without a runtime (it is shutting down) the lease simply expires.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.store.clone();
        let fence = self.fence.to_string();
        let releasing = runtime.spawn(async move {
            let mut redis = store.redis.clone();
            let released: RedisResult<i64> = RELEASE
                .key(&store.lease_key)
                .arg(fence)
                .invoke_async(&mut redis)
                .await;
            if let Err(error) = released {
                tracing::debug!(key = %store.lease_key, %error, "could not release the refresh lease; it expires");
            }
        });
        self.store.held().releasing = Some(releasing);
    }
}

impl TokenStore for RedisTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<StoredSession>> {
        Box::pin(self.load_fenced())
    }

    fn save<'a>(&'a self, session: &'a StoredSession) -> StoreFuture<'a, ()> {
        let json = String::from_utf8(encode_session_file(session)).unwrap_or_default();
        Box::pin(self.write(json))
    }

    /// Leaves a tombstone with a new fence, so a refresh in flight elsewhere cannot bring
    /// the signed-out session back.
    fn clear(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.write(String::new()))
    }

    fn lock(&self) -> StoreFuture<'_, Option<StoreLock>> {
        Box::pin(async {
            let guard = self.acquire().await?;
            Ok(Some(Box::new(guard) as StoreLock))
        })
    }
}

impl fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection's Debug would print its address, and a URL may hold a password.
        f.debug_struct("RedisTokenStore")
            .field("name", &self.name)
            .field("lease", &self.lease)
            .field("lock_timeout", &self.lock_timeout)
            .finish_non_exhaustive()
    }
}
