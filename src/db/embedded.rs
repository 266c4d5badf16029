//! The embedded default: a private PostgreSQL cluster under `<data_dir>/postgres`,
//! run from the machine's PostgreSQL binaries, reachable only through a Unix socket.
//!
//! PostgreSQL refuses to run as root, so when fedblog runs as root the cluster
//! runs as the `postgres` system user (or `nobody`), which owns its directory.

use std::fs;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nix::sys::signal::kill;
use nix::unistd::{Gid, Pid, Uid, User, geteuid};

/// The role and database the embedded cluster serves.
pub const DB_USER: &str = "fedblog";
const SOCKET_NAME: &str = ".s.PGSQL.5432";
/// Unix socket paths are limited to 107 bytes; stay clear of it.
const MAX_SOCKET_PATH: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found. Install them \
         (Debian/Ubuntu: `apt-get install postgresql`), point `database.postgres_bin_dir` at \
         their directory, or set `database.url` to use an existing PostgreSQL server"
    )]
    NoBinaries,
    #[error(
        "fedblog runs as root, and PostgreSQL refuses to: it needs a `postgres` or `nobody` \
         system user to run the embedded database as"
    )]
    NoUnprivilegedUser,
    #[error(
        "the embedded database directory {dir} is not reachable for the `{user}` user that \
         runs PostgreSQL ({blocked} is not searchable for it). Choose a data directory outside \
         it, e.g. FEDBLOG__STORAGE__DATA_DIR=/var/lib/fedblog, or set `database.url`"
    )]
    Unreachable {
        dir: PathBuf,
        user: String,
        blocked: PathBuf,
    },
    #[error("{action} failed: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
    #[error("{command} failed ({status}):\n{output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
    #[error("path {0} contains a single quote, which PostgreSQL's options cannot carry")]
    BadPath(PathBuf),
    #[error("the PostgreSQL setting {0:?} is not a plain name=value pair")]
    BadSetting(String),
}

fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedError {
    let action = action.into();
    move |source| EmbeddedError::Io { action, source }
}

/// The user PostgreSQL runs as when we are root.
#[derive(Debug, Clone)]
struct RunAs {
    name: String,
    uid: Uid,
    gid: Gid,
}

/// A private PostgreSQL cluster. Started with [`EmbeddedPostgres::start`];
/// stopped with [`EmbeddedPostgres::stop`] (not on drop: a CLI command that found
/// the cluster already running must leave it running for the server).
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    run_as: Option<RunAs>,
    started_here: bool,
    /// A shared lock held while this process uses the cluster, so that no
    /// other process stops it under us ([`EmbeddedPostgres::stop_unless_in_use`]).
    users: fs::File,
    users_path: PathBuf,
}

impl EmbeddedPostgres {
    /// Initialises the cluster on first use, clears a stale lock left by a crash,
    /// and starts PostgreSQL unless it is already running.
    pub fn start(data_dir: &Path, bin_dir: Option<&Path>) -> Result<Self, EmbeddedError> {
        Self::start_with(data_dir, bin_dir, &[])
    }

    /// [`EmbeddedPostgres::start`] with extra server settings (`name`, `value`),
    /// e.g. `fsync = off` for a throw-away test cluster.
    pub fn start_with(
        data_dir: &Path,
        bin_dir: Option<&Path>,
        settings: &[(&str, &str)],
    ) -> Result<Self, EmbeddedError> {
        let bin_dir = find_bin_dir(bin_dir)?;
        let run_as = if geteuid().is_root() {
            Some(unprivileged_user()?)
        } else {
            None
        };
        fs::create_dir_all(data_dir).map_err(io_err(format!("creating {}", data_dir.display())))?;
        let data_dir = data_dir
            .canonicalize()
            .map_err(io_err(format!("resolving {}", data_dir.display())))?;
        // One process at a time creates or starts the cluster (a server and
        // a CLI command started together on a new data directory would
        // otherwise both run initdb); the lock goes with this function.
        let lock_path = data_dir.join(".postgres-start.lock");
        let lock = open_lock_file(&lock_path)?;
        lock.lock()
            .map_err(io_err(format!("locking {}", lock_path.display())))?;
        let users_path = data_dir.join(".postgres-users.lock");
        let users = open_lock_file(&users_path)?;
        users
            .lock_shared()
            .map_err(io_err(format!("locking {}", users_path.display())))?;
        let mut pgdata = data_dir.join("postgres");
        if let Some(user) = &run_as {
            pgdata = reachable_cluster_dir(&pgdata, user)?;
        }
        let socket_dir = socket_dir_for(&pgdata);
        for path in [&pgdata, &socket_dir] {
            if path.to_string_lossy().contains('\'') {
                return Err(EmbeddedError::BadPath(path.clone()));
            }
        }
        let mut cluster = EmbeddedPostgres {
            bin_dir,
            pgdata,
            socket_dir,
            run_as,
            started_here: false,
            users,
            users_path,
        };
        if !cluster.pgdata.join("PG_VERSION").is_file() {
            cluster.init()?;
        }
        cluster.prepare_socket_dir()?;
        if cluster.is_running() {
            tracing::info!(pgdata = %cluster.pgdata.display(), "embedded PostgreSQL is already running; using it");
        } else {
            cluster.clear_stale_locks()?;
            cluster.run_pg_ctl_start(settings)?;
            cluster.started_here = true;
            tracing::info!(pgdata = %cluster.pgdata.display(), "embedded PostgreSQL started");
        }
        Ok(cluster)
    }

    /// The connection URL for `database` on this cluster.
    pub fn url(&self, database: &str) -> String {
        let host: String =
            url::form_urlencoded::byte_serialize(self.socket_dir.to_string_lossy().as_bytes())
                .collect();
        format!("postgresql://{DB_USER}@localhost/{database}?host={host}")
    }

    /// Whether this process started the cluster (rather than finding it running).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// Stops the cluster unless another process is using it (a server
    /// started while a CLI command ran, or another command): then it is
    /// left running for them, and the next start finds it. True when stopped.
    pub fn stop_unless_in_use(&self) -> Result<bool, EmbeddedError> {
        let action = format!("locking {}", self.users_path.display());
        self.users.unlock().map_err(io_err(action.clone()))?;
        let probe = open_lock_file(&self.users_path)?;
        match probe.try_lock() {
            Ok(()) => {
                self.stop()?;
                Ok(true)
            }
            Err(fs::TryLockError::WouldBlock) => {
                tracing::info!("embedded PostgreSQL is in use by another process; left running");
                Ok(false)
            }
            Err(fs::TryLockError::Error(e)) => Err(io_err(action)(e)),
        }
    }

    /// Stops the cluster (fast shutdown: sessions are ended, data is flushed).
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        if !self.is_running() {
            return Ok(());
        }
        let out = self.run(
            self.pg_ctl()
                .arg("stop")
                .arg("-D")
                .arg(&self.pgdata)
                .args(["-m", "fast", "-w", "-t", "60"]),
        )?;
        check("pg_ctl stop", &out)?;
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }

    /// The postmaster's pid, if the lock file names a live PostgreSQL process.
    pub fn running_pid(&self) -> Option<i32> {
        let pid = read_postmaster_pid(&self.pgdata)?;
        is_postgres_process(pid).then_some(pid)
    }

    fn is_running(&self) -> bool {
        self.running_pid().is_some()
    }

    fn init(&self) -> Result<(), EmbeddedError> {
        // initdb into a scratch directory and rename it into place, so a failed
        // first start never leaves a half-made cluster behind.
        let scratch = self.pgdata.with_extension("initdb");
        if scratch.exists() {
            fs::remove_dir_all(&scratch)
                .map_err(io_err(format!("removing {}", scratch.display())))?;
        }
        self.make_private_dir(&scratch)?;
        tracing::info!(pgdata = %self.pgdata.display(), "creating the embedded PostgreSQL cluster");
        let mut cmd = Command::new(self.bin_dir.join("initdb"));
        cmd.arg("-D").arg(&scratch).args([
            "-U",
            DB_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
        ]);
        let out = self.run(&mut cmd)?;
        check("initdb", &out)?;
        fs::rename(&scratch, &self.pgdata).map_err(io_err(format!(
            "moving the new cluster to {}",
            self.pgdata.display()
        )))
    }

    fn prepare_socket_dir(&self) -> Result<(), EmbeddedError> {
        if self.socket_dir != self.pgdata {
            self.make_private_dir(&self.socket_dir)?;
        }
        Ok(())
    }

    fn make_private_dir(&self, dir: &Path) -> Result<(), EmbeddedError> {
        fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(io_err(format!("setting permissions on {}", dir.display())))?;
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(dir, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
                .map_err(io_err(format!("giving {} to {}", dir.display(), user.name)))?;
        }
        Ok(())
    }

    /// After a crash (or a reboot) the lock files may name a dead process, or one
    /// whose pid was reused; PostgreSQL then refuses to start. They are only
    /// removed once we know no PostgreSQL owns them.
    fn clear_stale_locks(&self) -> Result<(), EmbeddedError> {
        for lock in [
            self.pgdata.join("postmaster.pid"),
            self.socket_dir.join(format!("{SOCKET_NAME}.lock")),
            self.socket_dir.join(SOCKET_NAME),
        ] {
            if lock.exists() {
                tracing::warn!(file = %lock.display(), "removing a stale PostgreSQL lock file left by a crash");
                fs::remove_file(&lock).map_err(io_err(format!("removing {}", lock.display())))?;
            }
        }
        Ok(())
    }

    fn run_pg_ctl_start(&self, settings: &[(&str, &str)]) -> Result<(), EmbeddedError> {
        let log = self.pgdata.join("server.log");
        let mut options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c unix_socket_permissions=0700",
            self.socket_dir.display()
        );
        for (name, value) in settings {
            let plain = |s: &str| {
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.".contains(c))
            };
            if !(plain(name) && plain(value)) {
                return Err(EmbeddedError::BadSetting(format!("{name}={value}")));
            }
            options.push_str(&format!(" -c {name}={value}"));
        }
        let out = self.run(
            self.pg_ctl()
                .arg("start")
                .arg("-D")
                .arg(&self.pgdata)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "-o", &options]),
        )?;
        check("pg_ctl start", &out).map_err(|e| match e {
            EmbeddedError::Command {
                command,
                status,
                output,
            } => EmbeddedError::Command {
                command,
                status,
                output: format!("{output}\nserver log ({}):\n{}", log.display(), tail(&log)),
            },
            other => other,
        })
    }

    fn pg_ctl(&self) -> Command {
        Command::new(self.bin_dir.join("pg_ctl"))
    }

    fn run(&self, cmd: &mut Command) -> Result<Output, EmbeddedError> {
        cmd.current_dir("/").env_remove("PGDATA").env("LC_ALL", "C");
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid.as_raw()).gid(user.gid.as_raw());
        }
        let program = cmd.get_program().to_string_lossy().into_owned();
        cmd.output().map_err(io_err(format!("running {program}")))
    }
}

fn open_lock_file(path: &Path) -> Result<fs::File, EmbeddedError> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_err(format!("opening {}", path.display())))
}

fn check(command: &str, out: &Output) -> Result<(), EmbeddedError> {
    if out.status.success() {
        return Ok(());
    }
    Err(EmbeddedError::Command {
        command: command.to_string(),
        status: out.status.to_string(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    })
}

/// The last few kilobytes of a log file, for error messages.
fn tail(path: &Path) -> String {
    let read = || -> io::Result<String> {
        let mut file = fs::File::open(path)?;
        let len = file.metadata()?.len();
        file.seek(SeekFrom::Start(len.saturating_sub(4096)))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    };
    read().unwrap_or_else(|e| format!("(unreadable: {e})"))
}

fn read_postmaster_pid(pgdata: &Path) -> Option<i32> {
    let text = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    text.lines().next()?.trim().parse().ok()
}

/// A pid names a running PostgreSQL when the process exists, has not exited
/// (a killed postmaster nobody reaped stays a zombie), and is `postgres` (a pid
/// from before a reboot may belong to something else by now).
fn is_postgres_process(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    let alive = match kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(errno) => errno == nix::errno::Errno::EPERM,
    };
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // "pid (comm) state ...": comm may hold spaces or parentheses, so split at the last ')'.
    let Some((head, rest)) = stat.rsplit_once(')') else {
        return false;
    };
    let comm = head.split_once('(').map_or("", |(_, c)| c);
    let state = rest.split_whitespace().next().unwrap_or("");
    alive && comm.starts_with("postgres") && state != "Z" && state != "X"
}

/// Where the socket lives: in the cluster's own directory, unless that path is
/// too long for a Unix socket; then in a private directory under /tmp.
fn socket_dir_for(pgdata: &Path) -> PathBuf {
    if pgdata.join(SOCKET_NAME).as_os_str().len() <= MAX_SOCKET_PATH {
        return pgdata.to_path_buf();
    }
    use sha2::{Digest, Sha256};
    let hash = hex::encode(&Sha256::digest(pgdata.as_os_str().as_encoded_bytes())[..8]);
    std::env::temp_dir().join(format!("fedblog-pg-{hash}"))
}

fn unprivileged_user() -> Result<RunAs, EmbeddedError> {
    for name in ["postgres", "nobody"] {
        if let Ok(Some(user)) = User::from_name(name) {
            return Ok(RunAs {
                name: name.to_string(),
                uid: user.uid,
                gid: user.gid,
            });
        }
    }
    Err(EmbeddedError::NoUnprivilegedUser)
}

/// Where the cluster lives when PostgreSQL runs as `user`: `<data_dir>/postgres`
/// if that user can reach it. A data directory under a private one (a clone in
/// `/root`, say) is not reachable; the cluster then lives under
/// /var/lib/fedblog, and `<data_dir>/postgres` is a symlink to it, so the
/// next start (and a person looking for it) finds it in the usual place.
fn reachable_cluster_dir(pgdata: &Path, user: &RunAs) -> Result<PathBuf, EmbeddedError> {
    let pgdata = fs::canonicalize(pgdata).unwrap_or_else(|_| pgdata.to_path_buf());
    let Err(unreachable) = check_reachable(&pgdata, user) else {
        return Ok(pgdata);
    };
    use sha2::{Digest, Sha256};
    let hash = hex::encode(&Sha256::digest(pgdata.as_os_str().as_encoded_bytes())[..8]);
    let elsewhere = Path::new(FALLBACK_CLUSTER_ROOT).join(format!("postgres-{hash}"));
    if check_reachable(&elsewhere, user).is_err() {
        return Err(unreachable);
    }
    fs::create_dir_all(Path::new(FALLBACK_CLUSTER_ROOT))
        .map_err(io_err(format!("creating {FALLBACK_CLUSTER_ROOT}")))?;
    if fs::symlink_metadata(&pgdata).is_err() {
        std::os::unix::fs::symlink(&elsewhere, &pgdata).map_err(io_err(format!(
            "linking {} to {}",
            pgdata.display(),
            elsewhere.display()
        )))?;
    }
    tracing::warn!(
        unreachable = %unreachable,
        cluster = %elsewhere.display(),
        link = %pgdata.display(),
        "the data directory is private to root, so the embedded database lives elsewhere"
    );
    Ok(elsewhere)
}

/// Where clusters go whose data directory PostgreSQL's user cannot reach.
const FALLBACK_CLUSTER_ROOT: &str = "/var/lib/fedblog";

/// Every directory above the cluster must be searchable by the user it runs as.
fn check_reachable(pgdata: &Path, user: &RunAs) -> Result<(), EmbeddedError> {
    for dir in pgdata.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(dir) else {
            continue;
        };
        let mode = meta.mode();
        let searchable = if meta.uid() == user.uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == user.gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !searchable {
            return Err(EmbeddedError::Unreachable {
                dir: pgdata.to_path_buf(),
                user: user.name.clone(),
                blocked: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// The directory holding initdb and pg_ctl: the configured one, else
/// `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin, else PATH.
fn find_bin_dir(configured: Option<&Path>) -> Result<PathBuf, EmbeddedError> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = configured {
        return if has_tools(dir) {
            Ok(dir.to_path_buf())
        } else {
            Err(EmbeddedError::NoBinaries)
        };
    }
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let mut versioned: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versioned.sort();
    let from_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    from_pg_config
        .into_iter()
        .chain(versioned.into_iter().rev().map(|(_, dir)| dir))
        .chain(from_path)
        .find(|dir| has_tools(dir))
        .ok_or(EmbeddedError::NoBinaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_cluster_paths_get_a_short_socket_dir() {
        let short = Path::new("/var/lib/fedblog/postgres");
        assert_eq!(socket_dir_for(short), short);
        let long = PathBuf::from(format!("/srv/{}/postgres", "x".repeat(120)));
        let dir = socket_dir_for(&long);
        assert!(dir.join(SOCKET_NAME).as_os_str().len() <= MAX_SOCKET_PATH);
        assert_eq!(dir, socket_dir_for(&long), "stable across starts");
    }

    #[test]
    fn a_dead_or_foreign_pid_is_not_postgres() {
        assert!(!is_postgres_process(0));
        assert!(!is_postgres_process(-5));
        // This test process is alive but is not PostgreSQL.
        assert!(!is_postgres_process(std::process::id() as i32));
    }

    #[test]
    fn configured_bin_dir_without_tools_is_a_clear_error() {
        let err = find_bin_dir(Some(Path::new("/nonexistent"))).expect_err("no tools");
        assert!(err.to_string().contains("apt-get install postgresql"));
    }
}
