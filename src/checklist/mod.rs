//! Checklists: the model (`model`), the loader that builds it from TOML files as a pipeline
//! of stages (`load`), the check catalogue and built-in checklists (`catalogue`), the
//! attestations file golive appends to (`attestation`), and the JSON Schemas of checklist
//! and check files for editors (`schema`).

pub mod attestation;
pub mod catalogue;
pub mod load;
pub mod model;
pub mod schema;

pub use load::{LoadMode, LoadOptions, Loaded, load, target_name_problem};
pub use model::*;
