# Convenience recipes. Every recipe is a thin wrapper over a cargo command, so `just` is never required.

# Build every capability component reproducibly (target/components/*.wasm + index.json).
components:
    cargo xtask build-components

# The demo: verify the register-actor snapshot, run it twice, print outcomes and trace paths.
demo:
    cargo demo

# The full test suite (what CI runs).
test:
    cargo xtask test

# Re-seal the example snapshots from their sources (after changing a capability).
seal-examples:
    cargo xtask seal-examples

# Benchmarks (release build): per-node overhead, metering cost and runs/s (host), verify throughput (attest).
bench:
    cargo bench -p sealed-host --bench run
    cargo bench -p sealed-attest --bench verify
