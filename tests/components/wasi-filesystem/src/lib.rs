//! Adversarial corpus `wasi-filesystem`: a component that imports `wasi:filesystem/preopens@0.2.0` and
//! calls it (an uncalled import would be dropped by the component encoder, and the case would test
//! nothing; `expect-imports` in Cargo.toml makes the build check the import is there).
//!
//! The host must refuse it at seal time (a transform imports nothing) and, if a tampered snapshot slips
//! it past the seal, at prepare time: the engine never links WASI.

#[cfg(target_arch = "wasm32")]
mod component {
    wit_bindgen::generate!({ world: "wasi-node", path: "wit", generate_all });

    use exports::sealed::capability::node::{Guest, NodeResult, RunError};

    struct WasiNode;

    impl Guest for WasiNode {
        fn run(_input: String) -> Result<NodeResult, RunError> {
            let dirs = wasi::filesystem::preopens::get_directories();
            Ok(NodeResult {
                outcome: "SUCCESS".into(),
                output: format!("{{\"preopens\": {}}}", dirs.len()),
            })
        }
    }

    export!(WasiNode);
}
