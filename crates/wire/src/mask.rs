//! Payload masking (RFC 6455 §5.3).
//!
//! Masking is a plain XOR with a repeating four-byte key, so the same function masks and unmasks.
//! The `offset` argument lets a payload be processed in chunks of any size: it says where `buf[0]`
//! sits in the payload, which picks the key byte to start with.

/// XORs `buf` in place with `key`, where `buf[0]` is payload byte number `offset`.
///
/// Applying it twice with the same key and offset restores the original bytes.
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    // The key as it lines up with buf[0], repeated over 8 bytes, so that whole words can be XORed.
    let shift = offset % 4;
    let rotated = [
        key[shift],
        key[(shift + 1) % 4],
        key[(shift + 2) % 4],
        key[(shift + 3) % 4],
    ];
    let word = u64::from_ne_bytes([
        rotated[0], rotated[1], rotated[2], rotated[3], rotated[0], rotated[1], rotated[2],
        rotated[3],
    ]);
    let mut chunks = buf.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(bytes) ^ word).to_ne_bytes());
    }
    for (byte, k) in chunks
        .into_remainder()
        .iter_mut()
        .zip(rotated.iter().cycle())
    {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    #[test]
    fn rfc_example() {
        // "Hello" masked with 37 fa 21 3d (RFC 6455 §5.7)
        let mut buf = *b"Hello";
        apply_mask(&mut buf, KEY, 0);
        assert_eq!(buf, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        apply_mask(&mut buf, KEY, 0);
        assert_eq!(&buf, b"Hello");
    }

    #[test]
    fn chunked_matches_whole() {
        let payload: Vec<u8> = (0..=255).collect();
        let mut whole = payload.clone();
        apply_mask(&mut whole, KEY, 0);
        for split in [0, 1, 2, 3, 5, 127, 256] {
            let mut chunked = payload.clone();
            let (a, b) = chunked.split_at_mut(split);
            apply_mask(a, KEY, 0);
            apply_mask(b, KEY, split);
            assert_eq!(chunked, whole, "split at {split}");
        }
    }

    #[test]
    fn huge_offset_and_empty() {
        let mut buf = [0u8; 4];
        // usize::MAX % 4 == 3, so the key starts at its last byte
        apply_mask(&mut buf, KEY, usize::MAX);
        assert_eq!(buf, [0x3d, 0x37, 0xfa, 0x21]);
        apply_mask(&mut [], KEY, 7);
    }
}
