//! Reading the files an operator keeps in the rules and plugins directories
//! (rule files, plugin manifests and components), and the daemon's
//! configuration, without trusting what the name points at.
//!
//! A name can point at anything: a symlink to `/dev/zero` reports a length
//! of 0 and never ends, a FIFO blocks its reader until someone writes. So a
//! file is opened without blocking (`O_NONBLOCK`, which changes nothing for
//! a regular file), its type is read from the open handle (no race between
//! checking and opening), anything but a regular file is refused, and at
//! most `limit + 1` bytes are read whatever the length says.

use std::io::Read as _;
use std::path::Path;

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    #[error("no such file")]
    Missing,
    #[error("not a regular file but {kind}; only regular files (or symlinks to them) are read")]
    NotRegular { kind: &'static str },
    #[error("larger than {limit}")]
    TooLarge {
        limit: crate::plugin::manifest::ByteSize,
    },
    #[error("{0}")]
    Io(#[source] std::io::Error),
}

/// Reads the regular file at `path` (following symlinks), refusing
/// anything else, or more than `limit` bytes.
pub fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open_without_blocking(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => ReadError::Missing,
        // Some special files cannot even be opened (a socket: ENXIO); say
        // what they are.
        _ => match std::fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() => ReadError::NotRegular {
                kind: kind_of(&metadata),
            },
            _ => ReadError::Io(error),
        },
    })?;
    let metadata = file.metadata().map_err(ReadError::Io)?;
    if !metadata.is_file() {
        return Err(ReadError::NotRegular {
            kind: kind_of(&metadata),
        });
    }
    let too_large = || ReadError::TooLarge {
        limit: crate::plugin::manifest::ByteSize(limit),
    };
    if metadata.len() > limit {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(metadata.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        // It grew while it was read.
        return Err(too_large());
    }
    Ok(bytes)
}

/// [`read_regular`], as UTF-8 text.
pub fn read_regular_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_regular(path, limit)?;
    String::from_utf8(bytes).map_err(|error| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                error.utf8_error().valid_up_to()
            ),
        ))
    })
}

#[cfg(unix)]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

fn kind_of(metadata: &std::fs::Metadata) -> &'static str {
    if metadata.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let ty = metadata.file_type();
        if ty.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if ty.is_char_device() {
            return "a character device";
        }
        if ty.is_block_device() {
            return "a block device";
        }
        if ty.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_are_read_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.toml");
        std::fs::write(&file, "x = 1\n").unwrap();
        assert_eq!(read_regular_text(&file, 100).unwrap(), "x = 1\n");
        assert!(matches!(
            read_regular(&file, 3),
            Err(ReadError::TooLarge { .. })
        ));
        assert!(matches!(
            read_regular(&dir.path().join("none"), 3),
            Err(ReadError::Missing)
        ));
        assert!(matches!(
            read_regular(dir.path(), 3),
            Err(ReadError::NotRegular {
                kind: "a directory"
            })
        ));
        #[cfg(unix)]
        {
            let zero = dir.path().join("zero.wasm");
            std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
            let error = read_regular(&zero, 1 << 20).unwrap_err();
            assert_eq!(
                error.to_string(),
                "not a regular file but a character device; only regular files (or symlinks to them) are read"
            );
            let link = dir.path().join("link.toml");
            std::os::unix::fs::symlink(&file, &link).unwrap();
            assert_eq!(read_regular_text(&link, 100).unwrap(), "x = 1\n");
        }
    }
}
