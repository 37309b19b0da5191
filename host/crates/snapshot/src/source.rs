//! Source declaration format (TODO helper).
