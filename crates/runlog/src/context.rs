//! MLflow's system tags (prefix `mlflow.`) and the run context they record:
//! the user, the program, its source type and its git commit.

use std::fs;
use std::path::{Path, PathBuf};

/// Prefix of the tags MLflow reserves for itself.
pub const RESERVED_TAG_PREFIX: &str = "mlflow.";
/// The OS user who started the run.
pub const TAG_USER: &str = "mlflow.user";
/// The program that logged the run.
pub const TAG_SOURCE_NAME: &str = "mlflow.source.name";
/// The kind of program (`LOCAL`, `NOTEBOOK`, `JOB`, `PROJECT`, `UNKNOWN`).
pub const TAG_SOURCE_TYPE: &str = "mlflow.source.type";
/// The git commit of the program's work tree.
pub const TAG_GIT_COMMIT: &str = "mlflow.source.git.commit";
/// The run's name.
pub const TAG_RUN_NAME: &str = "mlflow.runName";
/// The parent run of a nested run.
pub const TAG_PARENT_RUN_ID: &str = "mlflow.parentRunId";
/// The run's description (the one `mlflow.` tag users set themselves).
pub const TAG_NOTE_CONTENT: &str = "mlflow.note.content";

/// The source type of a program run from the command line.
pub const SOURCE_TYPE_LOCAL: &str = "LOCAL";

/// The OS user, as MLflow finds it (Python's `getpass.getuser()`):
/// `$LOGNAME`, `$USER`, `$LNAME` or `$USERNAME`, else the name the user
/// database (`/etc/passwd`) gives the process's user id, else `"unknown"`.
pub fn current_user() -> String {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .or_else(user_from_database)
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The name `/etc/passwd` gives this process's real user id (read from
/// `/proc/self/status`: no libc call needed).
fn user_from_database() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse::<u32>()
        .ok()?;
    user_named_in_passwd(&std::fs::read_to_string("/etc/passwd").ok()?, uid)
}

/// The name of user `uid` in the text of a `passwd` file.
fn user_named_in_passwd(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let id = fields.next()?.parse::<u32>().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// The running program, as MLflow records it: the path it was started as.
pub fn source_name() -> String {
    std::env::args_os()
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .map(|p| p.display().to_string())
        })
        .unwrap_or_default()
}

/// The commit checked out in the git work tree holding `dir`, if any: read
/// from `.git` directly (HEAD, loose refs, packed refs, and `.git` files of
/// linked work trees), without running git.
pub fn git_commit(dir: &Path) -> Option<String> {
    let git_dir = find_git_dir(dir)?;
    let head = fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    let Some(reference) = head.strip_prefix("ref:").map(str::trim) else {
        return is_commit_id(head).then(|| head.to_owned()); // detached HEAD
    };
    // Linked work trees keep branch refs in the common directory.
    let common = fs::read_to_string(git_dir.join("commondir"))
        .ok()
        .map(|c| git_dir.join(c.trim()))
        .unwrap_or_else(|| git_dir.clone());
    for base in [&git_dir, &common] {
        if let Ok(id) = fs::read_to_string(base.join(reference)) {
            let id = id.trim();
            if is_commit_id(id) {
                return Some(id.to_owned());
            }
        }
    }
    let packed = fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (id, name) = line.split_once(' ')?;
        (name.trim() == reference && is_commit_id(id)).then(|| id.to_owned())
    })
}

/// The system tags MLflow sets when a run starts from this process:
/// user, source name and type, and the git commit when the current
/// directory is inside a git work tree.
pub fn system_tags() -> Vec<(&'static str, String)> {
    let mut tags = vec![
        (TAG_USER, current_user()),
        (TAG_SOURCE_NAME, source_name()),
        (TAG_SOURCE_TYPE, SOURCE_TYPE_LOCAL.to_owned()),
    ];
    if let Some(commit) = std::env::current_dir().ok().and_then(|d| git_commit(&d)) {
        tags.push((TAG_GIT_COMMIT, commit));
    }
    tags
}

/// The `.git` directory of the work tree holding `dir`, following a `.git`
/// file (`gitdir: ...`) as linked work trees and submodules have.
fn find_git_dir(dir: &Path) -> Option<PathBuf> {
    for ancestor in dir.ancestors() {
        let dot_git = ancestor.join(".git");
        if dot_git.is_dir() {
            return Some(dot_git);
        }
        if let Ok(text) = fs::read_to_string(&dot_git) {
            let target = text.trim().strip_prefix("gitdir:")?.trim();
            return Some(ancestor.join(target));
        }
    }
    None
}

fn is_commit_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    #[test]
    fn users_are_found_by_id_in_a_passwd_file() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n# a comment\nbroken\n\
                      alice:x:1000:1000:Alice:/home/alice:/bin/sh\n";
        assert_eq!(user_named_in_passwd(passwd, 0).as_deref(), Some("root"));
        assert_eq!(user_named_in_passwd(passwd, 1000).as_deref(), Some("alice"));
        assert_eq!(user_named_in_passwd(passwd, 7), None);
    }

    use super::*;

    const C1: &str = "0123456789abcdef0123456789abcdef01234567";
    const C2: &str = "89abcdef0123456789abcdef0123456789abcdef";

    fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join(".git/refs/heads")).unwrap();
        fs::create_dir_all(dir.path().join("src/deep")).unwrap();
        dir
    }

    #[test]
    fn commit_of_a_branch_from_loose_or_packed_refs() {
        let r = repo();
        fs::write(r.path().join(".git/HEAD"), "ref: refs/heads/main\n").unwrap();
        fs::write(r.path().join(".git/refs/heads/main"), format!("{C1}\n")).unwrap();
        assert_eq!(git_commit(&r.path().join("src/deep")).as_deref(), Some(C1));

        fs::remove_file(r.path().join(".git/refs/heads/main")).unwrap();
        fs::write(
            r.path().join(".git/packed-refs"),
            format!("# pack-refs with: peeled\n{C2} refs/heads/main\n"),
        )
        .unwrap();
        assert_eq!(git_commit(r.path()).as_deref(), Some(C2));
    }

    #[test]
    fn detached_heads_linked_work_trees_and_no_repository() {
        let r = repo();
        fs::write(r.path().join(".git/HEAD"), format!("{C2}\n")).unwrap();
        assert_eq!(git_commit(r.path()).as_deref(), Some(C2));

        // A linked work tree: `.git` is a file naming its git dir, whose
        // `commondir` leads to the main repository's refs.
        let wt_git = r.path().join(".git/worktrees/wt");
        fs::create_dir_all(&wt_git).unwrap();
        fs::write(wt_git.join("HEAD"), "ref: refs/heads/feature\n").unwrap();
        fs::write(wt_git.join("commondir"), "../..\n").unwrap();
        fs::write(r.path().join(".git/refs/heads/feature"), C1).unwrap();
        let wt = tempfile::tempdir().unwrap();
        fs::write(
            wt.path().join(".git"),
            format!("gitdir: {}\n", wt_git.display()),
        )
        .unwrap();
        assert_eq!(git_commit(wt.path()).as_deref(), Some(C1));

        let plain = tempfile::tempdir().unwrap();
        // A temporary directory may sit inside a repository on some
        // machines; only assert when it does not.
        if find_git_dir(plain.path()).is_none() {
            assert_eq!(git_commit(plain.path()), None);
        }
        fs::write(r.path().join(".git/HEAD"), "ref: refs/heads/missing\n").unwrap();
        assert_eq!(git_commit(r.path()), None);
    }

    #[test]
    fn system_tags_name_the_user_and_the_program() {
        let tags = system_tags();
        let get = |k: &str| {
            tags.iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get(TAG_SOURCE_TYPE).as_deref(), Some("LOCAL"));
        assert!(!get(TAG_USER).unwrap_or_default().is_empty());
        assert!(!get(TAG_SOURCE_NAME).unwrap_or_default().is_empty());
        assert!(tags.iter().all(|(k, _)| k.starts_with(RESERVED_TAG_PREFIX)));
    }
}
