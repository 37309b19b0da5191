//! The `events` capability's linker functions: append-only streams numbered from 1 (`append`, `read`).
//! Semantics: `sealed_storage::events`.

use sealed_capability::{StorageRequest, StorageResponse};
use sealed_snapshot::Op;
use wasmtime::component::LinkerInstance;

use super::{Store, storage_call};
use crate::bindings::sealed::capability::events;
use crate::host::HostState;

/// Each WIT function of the interface, with the grant operation it needs.
pub(crate) const FUNCTIONS: super::Functions = &[("append", Op::Append), ("read", Op::Read)];

/// Links every function of [`FUNCTIONS`]: the table decides what is linked, so a function listed
/// without a host implementation fails every link instead of going missing.
pub(super) fn add_to_linker(inst: &mut LinkerInstance<'_, HostState>) -> wasmtime::Result<()> {
    for &(name, _) in FUNCTIONS {
        match name {
            "append" => inst.func_wrap(
                name,
                |mut store: Store<'_>, (label, key, payload): (String, String, Vec<u8>)| {
                    let request = StorageRequest::EventsAppend { label, key, payload };
                    let r = storage_call(&mut store, request, |response| match response {
                        StorageResponse::Seq(seq) => Some(seq),
                        _ => None,
                    })?;
                    Ok((r,))
                },
            )?,
            "read" => inst.func_wrap(
                name,
                |mut store: Store<'_>, (label, key, from_seq, max_count): (String, String, u64, u32)| {
                    let request = StorageRequest::EventsRead {
                        label,
                        key,
                        from_seq,
                        max_count,
                    };
                    let r = storage_call(&mut store, request, |response| match response {
                        StorageResponse::Events(list) => Some(
                            list.into_iter()
                                .map(|e| events::Event {
                                    seq: e.seq,
                                    payload: e.payload,
                                })
                                .collect::<Vec<_>>(),
                        ),
                        _ => None,
                    })?;
                    Ok((r,))
                },
            )?,
            other => wasmtime::bail!("events: no host function for {other}"),
        }
    }
    Ok(())
}
