//! The open-file limit. systemd and most shells start services with a soft limit of 1,024 file
//! descriptors, far below what a server with thousands of keep-alive connections needs, while
//! the hard limit is usually much higher: raising the soft limit to the hard one at start is
//! what nginx (`worker_rlimit_nofile`) and Go's runtime do.

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// The open-file limit before and after [`raise_fd_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdLimit {
    pub before: u64,
    pub now: u64,
}

/// Raises the soft limit on open files to the hard limit. `None` where the limit is unknown
/// (no limit, or the call failed: the limit in force is then left as it was).
pub fn raise_fd_limit() -> Option<FdLimit> {
    let current = getrlimit(Resource::Nofile);
    let before = current.current?;
    let Some(hard) = current.maximum else {
        return Some(FdLimit {
            before,
            now: before,
        });
    };
    if hard <= before {
        return Some(FdLimit {
            before,
            now: before,
        });
    }
    match setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(hard),
            maximum: Some(hard),
        },
    ) {
        Ok(()) => Some(FdLimit { before, now: hard }),
        Err(_) => Some(FdLimit {
            before,
            now: before,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soft_limit_reaches_the_hard_limit() {
        let limit = raise_fd_limit();
        let after = getrlimit(Resource::Nofile);
        if let (Some(l), Some(soft)) = (limit, after.current) {
            assert_eq!(l.now, soft);
            assert!(l.now >= l.before);
            assert_eq!(Some(soft), after.maximum.or(Some(soft)));
        }
    }
}
