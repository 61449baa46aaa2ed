//! Container detection by content (magic bytes), not by extension.

use super::Container;

/// Bytes needed to recognise every container (the ustar magic sits at offset 257).
pub(crate) const PEEK: usize = 512;

/// Recognise a container from the first bytes of a file or stream.
pub(crate) fn detect(head: &[u8]) -> Option<Container> {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return Some(Container::Zip);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return Some(Container::TarGz);
    }
    if head.starts_with(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) {
        return Some(Container::TarXz);
    }
    if head.get(257..262) == Some(b"ustar") {
        return Some(Container::Tar);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes() {
        assert_eq!(detect(b"PK\x03\x04rest"), Some(Container::Zip));
        assert_eq!(detect(b"PK\x05\x06"), Some(Container::Zip));
        assert_eq!(detect(&[0x1f, 0x8b, 8]), Some(Container::TarGz));
        assert_eq!(
            detect(&[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0]),
            Some(Container::TarXz)
        );
        let mut t = vec![0u8; 512];
        t[257..262].copy_from_slice(b"ustar");
        assert_eq!(detect(&t), Some(Container::Tar));
        assert_eq!(detect(b"garbage"), None);
        assert_eq!(detect(b""), None);
    }
}
