//! Checklists: the model (`model`), the loader that builds it from TOML files as a pipeline
//! of stages (`load`), the check catalogue and built-in checklists (`catalogue`), and the
//! attestations file golive appends to (`attestation`).

pub mod attestation;
pub mod catalogue;
pub mod load;
pub mod model;

pub use load::{LoadMode, LoadOptions, Loaded, load};
pub use model::*;
