//! Sealing a source declaration into a snapshot directory (TODO helper).
