// Reduction slots with 64-bit atomicMax (wgpu's SHADER_INT64_ATOMIC_MIN_MAX), in one pass:
// slot_pack holds (key << 32) | complemented index, so its maximum is the best key and, among
// equal keys, the lowest index. slot_key (32-bit, readable) filters out configurations that
// cannot win: it only grows, so a configuration whose key equals the final best key always
// finds key >= slot_key and reaches the 64-bit atomicMax.

@group(0) @binding(7) var<storage, read_write> slot_key: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> slot_pack: array<atomic<u64>>;

fn offer(pass_id: u32, s: u32, key: u32, nidx: u32) {
    if key >= atomicLoad(&slot_key[s]) {
        atomicMax(&slot_key[s], key);
        atomicMax(&slot_pack[s], (u64(key) << 32u) | u64(nidx));
    }
}
