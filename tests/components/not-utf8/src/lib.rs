//! Adversarial corpus `not-utf8`: returns an output "string" whose bytes are not UTF-8.
//!
//! WIT strings are UTF-8 by contract, so a well-behaved guest cannot produce this; a hostile one can,
//! since the canonical ABI only passes a pointer and a length. Safe Rust cannot build such a `String`,
//! hence the one `unsafe` (this crate is a test fixture and opts out of the workspace's `unsafe_code`
//! lint on purpose). The host must refuse the string when it lifts it (wasmtime validates UTF-8), never
//! hand invalid text to the rest of the run.

/// A JSON string literal whose content bytes are not UTF-8 (0xFF and 0xFE never occur in UTF-8).
pub const OUTPUT_BYTES: &[u8] = b"\"\xff\xfe\"";

#[cfg(target_arch = "wasm32")]
const _: () = {
    use sealed_sdk::bindings::{NodeResult, RunError};

    struct NotUtf8;
    impl sealed_sdk::bindings::exports::sealed::capability::node::Guest for NotUtf8 {
        fn run(_input: String) -> Result<NodeResult, RunError> {
            // SAFETY (deliberately violated): the bytes are not UTF-8. The String is only handed to the
            // canonical ABI, which copies pointer and length; no Rust code reads it as text.
            #[allow(unsafe_code)]
            let output = unsafe { String::from_utf8_unchecked(OUTPUT_BYTES.to_vec()) };
            Ok(NodeResult {
                outcome: "SUCCESS".into(),
                output,
            })
        }
    }
    sealed_sdk::bindings::__export_component!(NotUtf8 with_types_in sealed_sdk::bindings);
};
