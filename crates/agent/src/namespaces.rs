//! Linux namespaces for the process containerizer: a new pid namespace (the task's init is
//! pid 1 and the task sees only its own processes) and a new mount namespace whose mounts are
//! private, so the fresh `/proc` mounted for the pid namespace never shows on the host.

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};

#[derive(Debug, thiserror::Error)]
pub enum NamespaceError {
    #[error("cannot create pid and mount namespaces: {0} (the agent must run as root)")]
    Unshare(nix::Error),
    #[error("cannot make the task's mounts private: {0}")]
    Private(nix::Error),
    #[error("cannot mount /proc for the task's pid namespace: {0}")]
    Proc(nix::Error),
}

/// Puts the future children of the calling process in a new pid namespace (the first one
/// forked becomes its pid 1). The caller itself stays where it is.
pub fn unshare_pid() -> Result<(), NamespaceError> {
    unshare(CloneFlags::CLONE_NEWPID).map_err(NamespaceError::Unshare)
}

/// Gives the calling process (the pid namespace's pid 1) its own mount namespace with every
/// mount private (no propagation back to the host) and a `/proc` for its pid namespace. Done
/// in the child, not the supervisor, so the supervisor keeps seeing the host's `/proc`.
pub fn private_mounts_with_proc() -> Result<(), NamespaceError> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(NamespaceError::Unshare)?;
    make_private()?;
    mount_proc()
}

fn make_private() -> Result<(), NamespaceError> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(NamespaceError::Private)
}

/// Mounts a `/proc` for the current pid namespace; called by its pid 1.
fn mount_proc() -> Result<(), NamespaceError> {
    mount(
        Some("proc"),
        "/proc",
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(NamespaceError::Proc)
}
