//! The backend conformance suite on the in-memory store.

use std::sync::Arc;

use sealed_storage::conformance::Fresh;
use sealed_storage::memory::MemoryStore;

fn fresh() -> Fresh {
    let store = MemoryStore::new();
    let again = store.clone();
    Fresh {
        store: Arc::new(store),
        keep: Box::new(()),
        reopen: Box::new(move || Arc::new(again.clone())),
    }
}

sealed_storage::conformance_suite!(fresh);
