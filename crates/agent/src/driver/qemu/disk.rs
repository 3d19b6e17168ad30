//! Real disk use: overlays and sparse images take far less than their
//! size says, so what counts is the blocks the filesystem allocated.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Bytes allocated on disk for `path` (a file, or a directory and all it
/// holds); 0 for what cannot be read.
pub fn allocated_bytes(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| allocated_bytes(&entry.path()))
            .sum()
    } else {
        // st_blocks counts 512-byte units whatever the block size.
        meta.blocks() * 512
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sparse_file_counts_what_it_holds_not_its_length() {
        let dir = tempfile::tempdir().unwrap();
        let sparse = dir.path().join("sparse");
        let file = std::fs::File::create(&sparse).unwrap();
        file.set_len(1 << 30).unwrap();
        std::fs::write(dir.path().join("full"), vec![1u8; 1 << 20]).unwrap();
        assert!(allocated_bytes(&sparse) < 1 << 20);
        let total = allocated_bytes(dir.path());
        assert!((1 << 20..(2 << 20) + (1 << 20)).contains(&total), "{total}");
        assert_eq!(allocated_bytes(&dir.path().join("missing")), 0);
    }
}
