//! The grid: axis lengths, row-major strides (last axis fastest), decoding a u64 flat index
//! into per-axis positions without materialising anything, advancing positions in order
//! (an odometer), and splitting index ranges into chunks.

use std::ops::Range;

/// Shape of a sweep grid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grid {
    /// Length of each axis, in scenario order.
    pub lens: Vec<u64>,
    /// Flat-index stride of each axis (the last axis has stride 1).
    pub strides: Vec<u64>,
    /// Number of configurations (product of the lengths; 1 for no axes).
    pub size: u64,
}

impl Grid {
    /// A grid over these axis lengths, or `None` when the product does not fit in a u64
    /// (more than 2^64 - 1 configurations) or an axis is empty.
    pub fn new(lens: &[u64]) -> Option<Grid> {
        if lens.contains(&0) {
            return None;
        }
        let mut strides = vec![0u64; lens.len()];
        let mut size: u64 = 1;
        for (k, &len) in lens.iter().enumerate().rev() {
            strides[k] = size;
            size = size.checked_mul(len)?;
        }
        Some(Grid {
            lens: lens.to_vec(),
            strides,
            size,
        })
    }

    /// The per-axis positions of a flat index.
    pub fn decode(&self, mut index: u64, digits: &mut [u64]) {
        for (k, &stride) in self.strides.iter().enumerate() {
            digits[k] = index / stride;
            index %= stride;
        }
    }

    /// The flat index of per-axis positions.
    pub fn encode(&self, digits: &[u64]) -> u64 {
        digits.iter().zip(&self.strides).map(|(d, s)| d * s).sum()
    }

    /// Split `range` into consecutive pieces of at most `chunk` indices.
    /// The inner axes of a walk that keeps the last axes inside one block: the first axis
    /// `k` such that axes `k..` span at least `min_block` configurations (0 when the whole
    /// grid is smaller), and that block's size.
    pub fn inner_block(lens: &[u64], min_block: u64) -> (usize, u64) {
        let mut inner = lens.len();
        let mut block = 1u64;
        while inner > 0 && block < min_block {
            inner -= 1;
            block = block.saturating_mul(lens[inner]);
        }
        (inner, block)
    }

    pub fn split(range: Range<u64>, chunk: u64) -> impl Iterator<Item = Range<u64>> {
        let chunk = chunk.max(1);
        let mut start = range.start;
        std::iter::from_fn(move || {
            if start >= range.end {
                return None;
            }
            let end = start.saturating_add(chunk).min(range.end);
            let r = start..end;
            start = end;
            Some(r)
        })
    }
}

/// Move per-axis positions to the next flat index, like an odometer (the last axis turns
/// fastest): an increment instead of a division per axis. Returns false when every axis
/// wrapped around (the positions are back at zero).
#[inline]
pub fn advance(digits: &mut [u64], lens: &[u64]) -> bool {
    for (d, &len) in digits.iter_mut().zip(lens).rev() {
        *d += 1;
        if *d < len {
            return true;
        }
        *d = 0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_round_trip_and_odometer_agree() {
        let g = Grid::new(&[3, 1, 4, 2]).unwrap();
        assert_eq!(g.size, 24);
        assert_eq!(g.strides, vec![8, 8, 2, 1]);
        let mut od = vec![0; 4];
        let mut d = vec![0; 4];
        for i in 0..g.size {
            g.decode(i, &mut d);
            assert_eq!(d, od, "index {i}");
            assert_eq!(g.encode(&d), i);
            assert_eq!(advance(&mut od, &g.lens), i + 1 < g.size);
        }
    }

    #[test]
    fn sizes_beyond_u64_are_refused() {
        assert!(Grid::new(&[1 << 32, 1 << 32]).is_none());
        assert_eq!(
            Grid::new(&[1 << 32, (1 << 32) - 1]).unwrap().size,
            u64::MAX - (1 << 32) + 1
        );
        assert_eq!(Grid::new(&[3, 5, u64::MAX / 15]).unwrap().size, u64::MAX);
        assert!(Grid::new(&[2, u64::MAX / 2 + 1]).is_none());
        assert!(Grid::new(&[3, 0]).is_none());
    }

    #[test]
    fn split_covers_range_exactly() {
        let parts: Vec<_> = Grid::split(5..23, 7).collect();
        assert_eq!(parts, vec![5..12, 12..19, 19..23]);
        let big: Vec<_> = Grid::split(u64::MAX - 3..u64::MAX, 2).collect();
        assert_eq!(
            big,
            vec![u64::MAX - 3..u64::MAX - 1, u64::MAX - 1..u64::MAX]
        );
    }
}
