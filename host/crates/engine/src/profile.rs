//! The engine profile: every wasmtime setting that can change what a component computes, how much fuel
//! it burns, or which limits bite first. It is recorded in every trace (with its digest) so that a replay
//! can tell whether it runs under the same rules as the original run.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The wasmtime release this crate is built against. The workspace pins it with `=`; a bump changes
/// compiled code and fuel accounting, so it is part of the profile.
pub const WASMTIME_VERSION: &str = "48.0.8";

/// How fuel is charged (kept in the profile so a trace says what its fuel numbers mean).
pub const FUEL_NOTE: &str = "wasmtime default operator costs (1 fuel per Wasm operator; nop, drop, block, loop and \
     similar structural operators cost 0), counted from instantiation on; plus fuel_per_host_byte for every byte a \
     storage call moves across the boundary (keys, values and response payloads, as counted by the gate)";

/// Deterministic execution settings of the engine. Construct it with [`EngineProfile::default`]; the
/// fields are public so that a recorded profile can be compared field by field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineProfile {
    /// Always [`WASMTIME_VERSION`]; [`crate::Engine::new`] refuses any other value.
    pub wasmtime_version: String,
    /// NaN results of float operations are canonicalised, so NaN bit patterns do not depend on the CPU.
    pub nan_canonicalization: bool,
    /// The relaxed-SIMD proposal is disabled: its results are implementation-defined.
    pub relaxed_simd: bool,
    /// Even if relaxed SIMD were enabled, its results would be the deterministic ones.
    pub relaxed_simd_deterministic: bool,
    /// Shared memory and atomics across threads are disabled (this build has no `threads` feature).
    pub threads: bool,
    /// Maximum Wasm stack, bytes. Fixed so that stack overflow happens at the same depth everywhere.
    pub max_wasm_stack: u64,
    /// Fuel metering is on: the deterministic CPU budget.
    pub fuel: bool,
    /// Fuel charged per byte moved through a storage call.
    pub fuel_per_host_byte: u64,
    /// What one unit of fuel is.
    pub fuel_note: String,
    /// Epoch interruption is on, as a wall-clock backstop only (its firing is non-deterministic and is
    /// reported as such).
    pub epoch_interruption: bool,
    /// Period of the epoch ticker thread, milliseconds.
    pub epoch_tick_ms: u64,
    /// Which instance allocator is used. [`crate::Engine::new`] records `on-demand` here when the pool
    /// cannot be created on this machine.
    pub allocator: Allocator,
    /// Pool settings (used when `allocator` is `pooling`).
    pub pooling: PoolingProfile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Allocator {
    Pooling,
    OnDemand,
}

/// Pooling allocator settings. Totals are modest: one run executes one node at a time, and every slot
/// reserves virtual address space up front.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolingProfile {
    pub total_component_instances: u32,
    pub total_core_instances: u32,
    pub total_memories: u32,
    pub total_tables: u32,
    pub max_core_instances_per_component: u32,
    pub max_memories_per_component: u32,
    pub max_tables_per_component: u32,
    /// Per memory, bytes. 4 GiB = no pool-level cap for 32-bit memories: the node's `memory_bytes`
    /// limit (enforced by the store limiter) is the only one that bites.
    pub max_memory_size: u64,
    /// Per table.
    pub table_elements: u64,
    pub max_component_instance_size: u64,
    pub max_core_instance_size: u64,
    /// Bytes of each linear memory kept resident (not returned to the OS) between instances.
    pub linear_memory_keep_resident: u64,
    pub table_keep_resident: u64,
    /// Reset memories with Linux `PAGEMAP_SCAN` when the kernel has it ("auto").
    pub pagemap_scan: String,
}

impl Default for PoolingProfile {
    fn default() -> Self {
        Self {
            total_component_instances: 32,
            total_core_instances: 256,
            total_memories: 32,
            total_tables: 256,
            max_core_instances_per_component: 64,
            max_memories_per_component: 8,
            max_tables_per_component: 64,
            max_memory_size: 4 << 30,
            table_elements: 100_000,
            max_component_instance_size: 1 << 20,
            max_core_instance_size: 1 << 20,
            linear_memory_keep_resident: 4 << 20,
            table_keep_resident: 64 << 10,
            pagemap_scan: "auto".to_string(),
        }
    }
}

impl Default for EngineProfile {
    fn default() -> Self {
        Self {
            wasmtime_version: WASMTIME_VERSION.to_string(),
            nan_canonicalization: true,
            relaxed_simd: false,
            relaxed_simd_deterministic: true,
            threads: false,
            max_wasm_stack: 512 << 10,
            fuel: true,
            fuel_per_host_byte: 1,
            fuel_note: FUEL_NOTE.to_string(),
            epoch_interruption: true,
            epoch_tick_ms: 10,
            allocator: Allocator::Pooling,
            pooling: PoolingProfile::default(),
        }
    }
}

impl EngineProfile {
    /// RFC 8785 canonical JSON of the profile (what the digest is computed over).
    pub fn canonical_json(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_jcs::to_vec(self)
    }

    /// Lowercase hex sha256 of [`Self::canonical_json`] (same convention as the snapshot digest).
    pub fn digest(&self) -> Result<String, serde_json::Error> {
        Ok(hex::encode(Sha256::digest(self.canonical_json()?)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_stable_and_sensitive() {
        let a = EngineProfile::default();
        let d = a.digest().unwrap();
        assert!(d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()), "{d}");
        assert_eq!(d, EngineProfile::default().digest().unwrap());
        let mut b = a.clone();
        b.nan_canonicalization = false;
        assert_ne!(d, b.digest().unwrap());
        let back: EngineProfile = serde_json::from_slice(&a.canonical_json().unwrap()).unwrap();
        assert_eq!(back, a);
    }
}
