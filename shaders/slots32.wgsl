// Reduction slots with 32-bit atomics, in two passes of the sweep kernel. Pass 0 raises each
// slot's best objective key; pass 1 lets configurations whose key equals their slot's final
// key offer their complemented chunk-local index, so atomicMax keeps the lowest index.

@group(0) @binding(7) var<storage, read_write> slot_key: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> slot_idx: array<atomic<u32>>;

fn offer(pass_id: u32, s: u32, key: u32, nidx: u32) {
    if pass_id == 0u {
        if key > atomicLoad(&slot_key[s]) {
            atomicMax(&slot_key[s], key);
        }
    } else if key == atomicLoad(&slot_key[s]) && nidx > atomicLoad(&slot_idx[s]) {
        atomicMax(&slot_idx[s], nidx);
    }
}
