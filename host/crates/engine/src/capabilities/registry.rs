//! The `registry` capability's linker functions: write-once keys per label (`insert`, `get`, `exists`,
//! and `remove` from contract 0.1.1). Semantics: `sealed_storage::registry`.

use sealed_capability::{StorageRequest, StorageResponse};
use sealed_snapshot::Op;
use wasmtime::component::LinkerInstance;

use super::{Store, storage_call};
use crate::bindings::sealed::capability::registry;
use crate::host::HostState;

/// Each WIT function of the interface, with the grant operation it needs.
pub(crate) const FUNCTIONS: super::Functions = &[
    ("insert", Op::Insert),
    ("get", Op::Get),
    ("exists", Op::Exists),
    ("remove", Op::Remove),
];

/// Links every function of [`FUNCTIONS`]: the table decides what is linked, so a function listed
/// without a host implementation fails every link instead of going missing.
pub(super) fn add_to_linker(inst: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    for &(name, _) in FUNCTIONS {
        match name {
            "insert" => inst.func_wrap(
                name,
                |mut store: Store<'_>, (label, key, value): (String, String, Vec<u8>)| {
                    let request = StorageRequest::RegistryInsert { label, key, value };
                    let r = storage_call(&mut store, request, |response| match response {
                        StorageResponse::Insert(sealed_capability::InsertOutcome::Inserted) => {
                            Some(registry::InsertOutcome::Inserted)
                        }
                        StorageResponse::Insert(sealed_capability::InsertOutcome::AlreadyExists) => {
                            Some(registry::InsertOutcome::AlreadyExists)
                        }
                        _ => None,
                    })?;
                    Ok((r,))
                },
            )?,
            "get" => inst.func_wrap(name, |mut store: Store<'_>, (label, key): (String, String)| {
                let request = StorageRequest::RegistryGet { label, key };
                let r = storage_call(&mut store, request, |response| match response {
                    StorageResponse::Value(value) => Some(value),
                    _ => None,
                })?;
                Ok((r,))
            })?,
            "exists" => inst.func_wrap(name, |mut store: Store<'_>, (label, key): (String, String)| {
                let request = StorageRequest::RegistryExists { label, key };
                let r = storage_call(&mut store, request, |response| match response {
                    StorageResponse::Exists(exists) => Some(exists),
                    _ => None,
                })?;
                Ok((r,))
            })?,
            "remove" => inst.func_wrap(name, |mut store: Store<'_>, (label, key): (String, String)| {
                let request = StorageRequest::RegistryRemove { label, key };
                let r = storage_call(&mut store, request, |response| match response {
                    StorageResponse::Removed(removed) => Some(removed.is_some()),
                    _ => None,
                })?;
                Ok((r,))
            })?,
            other => wasmtime::bail!("registry: no host function for {other}"),
        }
    }
    Ok(())
}
