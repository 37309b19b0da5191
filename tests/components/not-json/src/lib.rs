//! Adversarial corpus `not-json`: returns `SUCCESS` with output text that is not JSON.
//!
//! The SDK always serialises a `Value`, so this component implements the WIT export itself. The host
//! must refuse the output (`OUTPUT_NOT_JSON`): later nodes read `$.results.<node>` as JSON.

/// The output text: almost JSON, never JSON.
pub const OUTPUT: &str = "{\"almost\": json, but not quite";

#[cfg(target_arch = "wasm32")]
const _: () = {
    use sealed_sdk::bindings::{NodeResult, RunError};

    struct NotJson;
    impl sealed_sdk::bindings::exports::sealed::capability::node::Guest for NotJson {
        fn run(_input: String) -> Result<NodeResult, RunError> {
            Ok(NodeResult {
                outcome: "SUCCESS".into(),
                output: OUTPUT.into(),
            })
        }
    }
    sealed_sdk::bindings::__export_component!(NotJson with_types_in sealed_sdk::bindings);
};
