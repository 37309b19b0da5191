//! The `state` capability's linker functions: versioned values with compare-and-swap (`load`,
//! `store-if-version`, and `list-keys` from contract 0.1.1). Semantics: `sealed_storage::state`.

use sealed_capability::{StorageRequest, StorageResponse};
use sealed_snapshot::Op;
use wasmtime::component::LinkerInstance;

use super::{Store, storage_call};
use crate::bindings::sealed::capability::state;
use crate::host::HostState;

/// Each WIT function of the interface, with the grant operation it needs.
pub(crate) const FUNCTIONS: super::Functions = &[
    ("load", Op::Load),
    ("store-if-version", Op::Store),
    ("list-keys", Op::List),
];

/// Links every function of [`FUNCTIONS`]: the table decides what is linked, so a function listed
/// without a host implementation fails every link instead of going missing.
pub(super) fn add_to_linker(inst: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    for &(name, _) in FUNCTIONS {
        match name {
            "load" => inst.func_wrap(name, |mut store: Store<'_>, (label, key): (String, String)| {
                let request = StorageRequest::StateLoad { label, key };
                let r = storage_call(&mut store, request, |response| match response {
                    StorageResponse::State(v) => Some(v.map(|v| state::Versioned {
                        version: v.version,
                        value: v.value,
                    })),
                    _ => None,
                })?;
                Ok((r,))
            })?,
            "store-if-version" => inst.func_wrap(
                name,
                |mut store: Store<'_>, (label, key, expected_version, value): (String, String, u64, Vec<u8>)| {
                    let request = StorageRequest::StateStoreIfVersion {
                        label,
                        key,
                        expected_version,
                        value,
                    };
                    let r = storage_call(&mut store, request, |response| match response {
                        StorageResponse::Version(v) => Some(v),
                        _ => None,
                    })?;
                    Ok((r,))
                },
            )?,
            "list-keys" => inst.func_wrap(
                name,
                |mut store: Store<'_>, (label, start_after, max_count): (String, Option<String>, u32)| {
                    let request = StorageRequest::StateList {
                        label,
                        start_after,
                        max_count,
                    };
                    let r = storage_call(&mut store, request, |response| match response {
                        StorageResponse::Keys(keys) => Some(keys),
                        _ => None,
                    })?;
                    Ok((r,))
                },
            )?,
            other => wasmtime::bail!("state: no host function for {other}"),
        }
    }
    Ok(())
}
