//! The first start: with nobody to sign in, nobody could act, so a start with no users creates
//! `admin` with a random password (or `ACTIONBOARD_ADMIN_PASSWORD`'s), which the caller prints
//! once. The random one is also written to `state/initial-admin-password` (mode 0600), deleted
//! as soon as that password is changed (or admin removed). There is no fixed default password.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::state::users::{Role, UserError, UserStore, FIRST_ADMIN};

/// Where the random password is kept until it is changed, under the data folder.
pub const INITIAL_PASSWORD_FILE: &str = "state/initial-admin-password";

/// What the first start created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstAdmin {
    pub name: String,
    /// The generated password (to print once); `None` when it came from the environment.
    pub generated_password: Option<String>,
    /// The file holding the generated password.
    pub file: Option<PathBuf>,
}

/// Characters of generated passwords: no look-alikes (0/O, 1/l/I).
const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn random_password(chars: usize) -> Result<String, UserError> {
    let mut out = String::with_capacity(chars);
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % ALPHABET.len();
    while out.len() < chars {
        let mut buf = [0u8; 64];
        getrandom::fill(&mut buf).map_err(|e| UserError::Random(e.to_string()))?;
        for b in buf {
            if (b as usize) < limit && out.len() < chars {
                out.push(ALPHABET[b as usize % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

/// On a data folder with no users, creates [`FIRST_ADMIN`] with `password` if given, else a
/// random one written to [`INITIAL_PASSWORD_FILE`] (mode 0600). `None` when users exist.
pub fn ensure_first_admin(
    data_dir: &Path,
    password: Option<&str>,
) -> Result<Option<FirstAdmin>, UserError> {
    let store = UserStore::open_in(data_dir)?;
    if !store.users()?.is_empty() {
        return Ok(None);
    }
    let (password, generated) = match password.filter(|p| !p.is_empty()) {
        Some(p) => (p.to_string(), false),
        None => (random_password(20)?, true),
    };
    store.set_user(FIRST_ADMIN, &password, Role::Admin)?;
    let mut file = None;
    if generated {
        let path = data_dir.join(INITIAL_PASSWORD_FILE);
        write_private(&path, &format!("{password}\n")).map_err(|source| UserError::Io {
            path: path.clone(),
            source,
        })?;
        file = Some(path);
    }
    Ok(Some(FirstAdmin {
        name: FIRST_ADMIN.to_string(),
        generated_password: generated.then_some(password),
        file,
    }))
}

/// Writes `text` to a new file only its owner can read (the first admin's password, the link
/// secret of `notify::link`).
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // The mode applies only to a new file: a stale one is removed first.
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_first_start_creates_admin_once_with_a_private_password_file_until_it_changes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = crate::state::shared::test_data_dir();
        let first = ensure_first_admin(dir.path(), None).unwrap().unwrap();
        let password = first.generated_password.clone().unwrap();
        assert_eq!(password.len(), 20);
        let file = first.file.clone().unwrap();
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            format!("{password}\n")
        );
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let users = UserStore::open_in(dir.path()).unwrap();
        assert!(users.sign_in("admin", &password).unwrap().is_some());
        // A second start changes nothing.
        assert_eq!(ensure_first_admin(dir.path(), None).unwrap(), None);
        assert!(file.exists());
        // Another user's password: the file stays; admin's new password: it goes.
        users
            .set_user("kim", "kim's password", Role::Analyst)
            .unwrap();
        assert!(file.exists());
        users
            .set_user("admin", "a new password", Role::Admin)
            .unwrap();
        assert!(!file.exists());
        // Two starts make two different passwords.
        let other = crate::state::shared::test_data_dir();
        let second = ensure_first_admin(other.path(), None).unwrap().unwrap();
        assert_ne!(second.generated_password, Some(password));
    }

    #[test]
    fn the_environment_sets_the_first_password_and_no_file_is_written() {
        let dir = crate::state::shared::test_data_dir();
        let first = ensure_first_admin(dir.path(), Some("from the environment"))
            .unwrap()
            .unwrap();
        assert_eq!((first.generated_password, first.file), (None, None));
        assert!(!dir.path().join(INITIAL_PASSWORD_FILE).exists());
        let users = UserStore::open_in(dir.path()).unwrap();
        assert!(users
            .sign_in("admin", "from the environment")
            .unwrap()
            .is_some());
    }
}
